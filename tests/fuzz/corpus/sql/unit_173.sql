SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '0s')
