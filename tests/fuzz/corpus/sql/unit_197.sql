SELECT id, (a + b) * 2 AS x, CASE WHEN s LIKE 'a%' THEN 'yes' ELSE 'no' END AS c, CAST(q AS BIGINT) AS n FROM t WHERE id NOT IN (7, 9) OR NOT (a BETWEEN 1 AND 2)
