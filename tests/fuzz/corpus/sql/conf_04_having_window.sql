SELECT COUNT(*) AS order_count FROM orders WINDOW TUMBLING(ts, INTERVAL '5' SECOND) HAVING COUNT(*) >= 2
-- input
{"amount":100.0,"ts":1000}
{"amount":200.0,"ts":2000}
{"amount":300.0,"ts":3000}
{"amount":400.0,"ts":6000}
