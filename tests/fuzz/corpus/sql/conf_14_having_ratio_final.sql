SELECT customer_id, SUM(revenue) AS total_revenue, SUM(cost) AS total_cost
FROM sales GROUP BY customer_id HAVING SUM(revenue) / SUM(cost) > 8 EMIT FINAL
-- input
{"customer_id":1,"revenue":600.0,"cost":50.0}
{"customer_id":2,"revenue":500.0,"cost":100.0}
{"customer_id":1,"revenue":400.0,"cost":50.0}
