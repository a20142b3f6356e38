SELECT trader_id, symbol, COUNT(*) AS n FROM m GROUP BY trader_id, symbol WINDOW TUMBLING(t, 1m)
