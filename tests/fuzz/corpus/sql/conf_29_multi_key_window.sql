SELECT trader_id, symbol, _WINDOW_START AS ws, COUNT(*) AS trade_count, AVG(price) AS avg_price,
       SUM(quantity) AS total_quantity, SUM(price * quantity) AS total_value
FROM market_data
GROUP BY trader_id, symbol
WINDOW TUMBLING (trade_time, INTERVAL '1' MINUTE)
-- input
{"trader_id":"T1","symbol":"S1","price":100.0,"quantity":10,"trade_time":0}
{"trader_id":"T1","symbol":"S1","price":102.0,"quantity":20,"trade_time":30000}
{"trader_id":"T2","symbol":"S1","price":50.0,"quantity":1,"trade_time":40000}
{"trader_id":"T1","symbol":"S1","price":104.0,"quantity":5,"trade_time":61000}
