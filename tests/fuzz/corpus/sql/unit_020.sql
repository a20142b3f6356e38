SELECT COUNT(*) FROM s WINDOW TUMBLING(ts, 1s) WITH ('watermark.max_out_of_orderness' = 3s)
