SELECT (a + b) * 2, -a FROM s
