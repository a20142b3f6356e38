SELECT symbol, _WINDOW_START AS window_start, _WINDOW_END AS window_end, AVG(price) AS avg_price
FROM market_data GROUP BY symbol WINDOW TUMBLING(ts, INTERVAL '10' SECOND) EMIT CHANGES
-- input
{"symbol":"AAPL","price":150.0,"ts":5000}
{"symbol":"AAPL","price":160.0,"ts":6000}
{"symbol":"MSFT","price":300.0,"ts":7000}
{"symbol":"AAPL","price":170.0,"ts":12000}
