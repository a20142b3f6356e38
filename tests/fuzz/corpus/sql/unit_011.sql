SELECT k, COUNT(*) AS n FROM s AS src WHERE v > 0 GROUP BY k WINDOW TUMBLING(ts, 5s) HAVING COUNT(*) > 1 LIMIT 10 EMIT CHANGES WITH ('watermark.max_out_of_orderness' = '2s');
