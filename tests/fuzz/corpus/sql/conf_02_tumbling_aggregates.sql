SELECT SUM(amount) AS total, AVG(amount) AS avg_amount, MIN(amount) AS mn, MAX(amount) AS mx
FROM orders
WINDOW TUMBLING(ts, 5s)
-- input
{"amount":100.0,"ts":1000}
{"amount":300.0,"ts":2000}
{"amount":200.0,"ts":3000}
{"amount":500.0,"ts":6000}
{"amount":400.0,"ts":7000}
