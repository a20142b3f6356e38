SELECT a + 1 AS x, b, COUNT(*) FROM s GROUP BY a, b
