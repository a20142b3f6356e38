SELECT customer_id, _WINDOW_START AS ws, SUM(amount) AS window_total
FROM orders GROUP BY customer_id WINDOW TUMBLING(ts, 5m)
-- input
{"customer_id":1,"ts":60000,"amount":100.0}
{"customer_id":1,"ts":120000,"amount":200.0}
{"customer_id":1,"ts":360000,"amount":500.0}
