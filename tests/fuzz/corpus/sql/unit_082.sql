SELECT a + a AS x, b FROM s WHERE a > b AND c.d IS NULL
