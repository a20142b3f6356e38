SELECT group_key, _WINDOW_START AS ws, COUNT(*) AS cnt, SUM(value) AS total
FROM data GROUP BY group_key WINDOW TUMBLING(ts, INTERVAL '1' SECOND) EMIT FINAL
-- input
{"group_key":"A","value":10.0,"ts":100}
{"group_key":"A","value":20.0,"ts":500}
{"group_key":"B","value":30.0,"ts":1000}
