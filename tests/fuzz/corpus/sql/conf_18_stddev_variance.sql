SELECT g, STDDEV(x) AS sd, VARIANCE(x) AS var, STDDEV_POP(x) AS sdp, VAR_POP(x) AS vp FROM t GROUP BY g EMIT FINAL
-- input
{"g":"a","x":10}
{"g":"a","x":20}
{"g":"a","x":30}
{"g":"b","x":2.0}
{"g":"b","x":4.0}
{"g":"b","x":6.0}
{"g":"c","x":5}
