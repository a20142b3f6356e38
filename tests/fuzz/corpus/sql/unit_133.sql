SELECT a % 3 AS x, MOD(a, 3) AS y FROM s
