SELECT k, COUNT(*) FROM s GROUP BY k WINDOW TUMBLING(ts, 1s) WITH ('state.ttl' = '1h')
