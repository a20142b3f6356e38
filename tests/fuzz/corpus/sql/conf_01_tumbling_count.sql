SELECT COUNT(*) AS order_count FROM orders WINDOW TUMBLING(ts, INTERVAL '5' SECOND)
-- input
{"id":1,"amount":100.0,"ts":1000}
{"id":2,"amount":200.0,"ts":2000}
{"id":3,"amount":300.0,"ts":3000}
{"id":4,"amount":400.0,"ts":6000}
{"id":5,"amount":500.0,"ts":7000}
