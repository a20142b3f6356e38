SELECT a FROM s WITH ('window.allowed_lateness' = '1s')
