SELECT status, COUNT(*) AS order_count, SUM(amount) AS total_amount FROM orders GROUP BY status EMIT CHANGES
-- input
{"status":"pending","amount":100.0,"ts":10000}
{"status":"pending","amount":200.0,"ts":20000}
{"status":"completed","amount":150.0,"ts":30000}
{"status":"pending","amount":300.0,"ts":15000}
{"status":"pending","amount":50.0,"ts":5000}
