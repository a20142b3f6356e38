SELECT a FROM s WITH ('state.ttl' = '1s'
