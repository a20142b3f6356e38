SELECT a FROM s t x
