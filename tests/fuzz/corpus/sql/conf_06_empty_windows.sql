SELECT COUNT(*) AS order_count FROM orders WHERE amount > 1000.0 WINDOW TUMBLING(ts, INTERVAL '5' SECOND)
-- input
{"amount":100.0,"ts":1000}
{"amount":200.0,"ts":2000}
{"amount":300.0,"ts":6000}
