SELECT COUNT(*) AS total_orders, SUM(amount) AS total_amount, AVG(amount) AS avg_amount
FROM orders WHERE amount > 100 WINDOW TUMBLING(ts, INTERVAL '10' SECOND)
-- input
{"amount":50.0,"ts":1000}
{"amount":300.0,"ts":2000}
{"amount":200.0,"ts":3000}
{"amount":400.0,"ts":4000}
{"amount":80.0,"ts":5000}
{"amount":350.0,"ts":11000}
{"amount":90.0,"ts":12000}
