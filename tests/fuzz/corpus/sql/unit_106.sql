SELECT k, SUM(v) AS total FROM s GROUP BY k HAVING total > 250
