SELECT group_key, _WINDOW_START AS ws, COUNT(id) AS cnt, SUM(value) AS total
FROM data
GROUP BY group_key
WINDOW TUMBLING(ts, INTERVAL '1' SECOND)
EMIT FINAL
-- input
{"id":1,"group_key":"A","value":10.0,"ts":100}
{"id":2,"group_key":"B","value":20.0,"ts":100}
{"id":3,"group_key":"C","value":30.0,"ts":100}
{"id":4,"group_key":"D","value":40.0,"ts":100}
{"id":5,"group_key":"E","value":50.0,"ts":100}
{"id":6,"group_key":"A","value":20.0,"ts":1100}
{"id":7,"group_key":"B","value":40.0,"ts":1100}
{"id":8,"group_key":"C","value":60.0,"ts":1100}
{"id":9,"group_key":"D","value":80.0,"ts":1100}
{"id":10,"group_key":"E","value":100.0,"ts":1100}
{"id":11,"group_key":"A","value":30.0,"ts":2100}
{"id":12,"group_key":"B","value":60.0,"ts":2100}
{"id":13,"group_key":"C","value":90.0,"ts":2100}
{"id":14,"group_key":"D","value":120.0,"ts":2100}
{"id":15,"group_key":"E","value":150.0,"ts":2100}
