SELECT customer_id, COUNT(*) AS cnt, SUM(amount) AS total FROM orders GROUP BY customer_id EMIT FINAL
-- input
{"customer_id":1,"amount":100.0}
{"customer_id":null,"amount":200.0}
{"amount":300.0}
{"customer_id":2,"amount":400.0}
