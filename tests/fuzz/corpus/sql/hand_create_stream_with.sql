CREATE STREAM s2 AS SELECT symbol, COUNT(*) AS n, APPROX_COUNT_DISTINCT(trader_id) AS traders
FROM market_data WHERE price BETWEEN 1 AND 1e6 AND symbol NOT IN ('X', 'Y')
GROUP BY symbol WINDOW SLIDING(trade_time, INTERVAL '1' MINUTE, 10s)
HAVING COUNT(*) > 1 LIMIT 100 EMIT CHANGES
WITH ('watermark.max_out_of_orderness' = '2s', 'window.allowed_lateness' = '1s', 'late.data.strategy' = 'dead_letter', 'state.ttl' = '1h', 'watermark.idle_timeout' = '30s');
