SELECT k, SUM(revenue) AS r, sum( revenue ) / SUM(cost) AS ratio, COUNT(*) AS n, count(*) AS n2 FROM s GROUP BY k HAVING SUM(revenue) / SUM(cost) > 8 AND COUNT(*) > 1
