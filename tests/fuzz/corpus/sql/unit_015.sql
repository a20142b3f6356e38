SELECT k, COUNT(*) FROM s GROUP BY k WITH ('timestamp' = '_TIMESTAMP')
