SELECT symbol, id, price, LAG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts) AS prev_price FROM trades
