SELECT 1 AS i, 2.5 AS d, 'x' AS s, TRUE AS b, NULL AS n, 1 + 2 AS ii, 1 + 2.0 AS id, 7 / 2 AS div, a + 1 AS unknown, -3 AS neg, -(1.5) AS negd, 'a' || 'b' AS cat FROM t
