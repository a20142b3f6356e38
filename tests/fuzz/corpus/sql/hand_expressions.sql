SELECT -a, NOT b, a + b * c / d % 7, a || 'x' || CAST(b AS STRING), CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE NULL END AS c1,
 CASE WHEN a IS NULL THEN 0 WHEN a > 1 AND NOT (b < 2 OR c <> 3) THEN 1 END AS c2, COALESCE(a, b, 0), NULLIF(a, 0), ABS(a), ROUND(a, 2), FLOOR(a), CEIL(a), SQRT(a), POWER(a, 2), MOD(a, 3),
 GREATEST(a, b, 1), LEAST(a, b), UPPER(s), LOWER(s), LENGTH(s), SUBSTRING(s, 2, 3), SUBSTR(s FROM 2 FOR 1), TRIM(s), CONCAT(s, '-', t), REPLACE(s, 'a', 'b'),
 s LIKE 'a%_\\%' AS l1, s NOT LIKE '%' AS l2, CAST('12' AS BIGINT) AS i, CAST(a AS DOUBLE) AS d, CAST(a AS BOOLEAN) AS bo, TRUE AND FALSE OR NULL AS t3, _TIMESTAMP AS at
FROM t -- trailing comment
/* block */ WHERE a IS NOT NULL AND s NOT BETWEEN 'a' AND 'z' LIMIT 5
