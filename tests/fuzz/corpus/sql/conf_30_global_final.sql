SELECT COUNT(*) AS n, SUM(x) AS s, MIN(x) AS mn, MAX(x) AS mx, AVG(x) AS a FROM t EMIT FINAL
-- input
{"k":"a","x":1}
{"k":"b","x":2}
{"k":"c","x":3}
{"k":"d","x":4}
{"k":"e","x":5}
{"k":"f","x":6}
