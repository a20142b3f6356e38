SELECT symbol, price,
       AVG(price) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY symbol) AS ma,
       FIRST_VALUE(price) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY symbol) AS fv,
       ROW_NUMBER() OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY symbol) AS rn
FROM trades
-- input
{"symbol":"AAPL","price":100.0}
{"symbol":"AAPL","price":200.0}
{"symbol":"AAPL","price":300.0}
{"symbol":"AAPL","price":400.0}
