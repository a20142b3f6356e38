SELECT customer_id, amount FROM orders WHERE amount > 150 LIMIT 1
-- input
{"customer_id":1,"amount":100.0}
{"customer_id":2,"amount":200.0}
{"customer_id":3,"amount":300.0}
