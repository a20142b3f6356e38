SELECT customer_id, COUNT(*) AS total_count, COUNT(amount) AS amount_count, COUNT(quantity) AS quantity_count,
       SUM(amount) AS amount_sum, AVG(amount) AS amount_avg, MIN(amount) AS amount_min, MAX(amount) AS amount_max,
       SUM(quantity) AS quantity_sum
FROM orders GROUP BY customer_id EMIT FINAL
-- input
{"customer_id":1,"quantity":5.0,"amount":100.0}
{"customer_id":1,"quantity":3.0,"amount":200.0}
{"customer_id":1,"quantity":null,"amount":null}
{"customer_id":1}
