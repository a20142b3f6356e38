SELECT _WINDOW_START AS ws, COUNT(*) AS n FROM t WINDOW TUMBLING(ts, INTERVAL '5' SECOND)
WITH ('watermark.max_out_of_orderness' = '2s')
-- input
{"ts":1000}
{"ts":6000}
{"ts":2000}
{"ts":8000}
