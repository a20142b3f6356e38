SELECT k, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY k EMIT FINAL
-- input
{"k":"a","v":1}
not json
{"k":"a","v":2}
{"k":"b","v":"oops"}
[1,2,3]
{"k":"a","v":3
{"k":"b","v":4}
