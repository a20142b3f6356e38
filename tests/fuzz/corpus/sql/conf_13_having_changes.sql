SELECT customer_id, SUM(amount) AS total FROM orders GROUP BY customer_id HAVING SUM(amount) > 250 EMIT CHANGES
-- input
{"customer_id":1,"amount":150.0}
{"customer_id":1,"amount":150.0}
{"customer_id":2,"amount":100.0}
{"customer_id":2,"amount":200.0}
