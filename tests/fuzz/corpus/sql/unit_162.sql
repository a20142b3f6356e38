SELECT k, COUNT(*) FROM s GROUP BY k WITH ('state.ttl' = '1h', 'late.data.strategy' = 'DROP')
