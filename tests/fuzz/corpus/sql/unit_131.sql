SELECT a, b AS a FROM s
