SELECT COUNT(*) FROM s WITH ('state.ttl' = '1h')
