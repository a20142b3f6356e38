SELECT a | b
