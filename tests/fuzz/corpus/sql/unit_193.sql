SELECT a FROM t WHERE b = 'needle' OR c LIKE 'x%'
