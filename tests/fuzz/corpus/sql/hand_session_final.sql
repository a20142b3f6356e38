SELECT user.id AS uid, _WINDOW_START AS ws, _WINDOW_END AS we, COUNT(*) AS n, FIRST(page) AS f, LAST(page) AS l, COUNT(DISTINCT page) AS d,
 STDDEV_POP(ms) AS s1, VAR_SAMP(ms) AS s2 FROM clicks GROUP BY user.id WINDOW SESSION(ts, 30s) EMIT FINAL WITH ('watermark.max_out_of_orderness' = '1s')
