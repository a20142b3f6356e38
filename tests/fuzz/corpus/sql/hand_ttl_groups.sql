SELECT k, v, COUNT(*) AS n FROM t GROUP BY k, v HAVING MAX(ts) > 0 EMIT CHANGES WITH ('state.ttl' = '1m', 'timestamp' = 'ts')
