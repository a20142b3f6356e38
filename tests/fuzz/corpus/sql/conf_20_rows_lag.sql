SELECT symbol, id, price, LAG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts) AS prev_price
FROM trades
-- input
{"id":1,"symbol":"AAPL","price":100.0,"ts":1000}
{"id":2,"symbol":"AAPL","price":101.0,"ts":2000}
{"id":3,"symbol":"MSFT","price":200.0,"ts":2500}
{"id":4,"symbol":"AAPL","price":102.0,"ts":3000}
{"id":5,"symbol":"MSFT","price":201.0,"ts":3500}
