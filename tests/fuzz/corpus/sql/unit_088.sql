SELECT o.k, COUNT(*) FROM orders AS o GROUP BY k
