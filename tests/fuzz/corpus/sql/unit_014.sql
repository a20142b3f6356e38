SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '1m', 'timestamp' = 'meta.ts')
