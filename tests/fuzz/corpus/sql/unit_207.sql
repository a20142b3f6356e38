SELECT a
  /* never closed
