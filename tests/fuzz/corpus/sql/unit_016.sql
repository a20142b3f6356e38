SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('timestamp' = 'ts')
