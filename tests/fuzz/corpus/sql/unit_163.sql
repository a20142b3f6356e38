SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('window.allowed_lateness' = '0')
