SELECT COUNT(*) AS high_value_orders FROM orders WHERE amount > 250.0 WINDOW TUMBLING(ts, INTERVAL '5' SECOND)
-- input
{"amount":100.0,"ts":1000}
{"amount":300.0,"ts":2000}
{"amount":400.0,"ts":3000}
{"amount":200.0,"ts":6000}
{"amount":500.0,"ts":7000}
