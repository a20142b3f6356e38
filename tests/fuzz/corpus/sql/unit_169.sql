SELECT a FROM s WITH ('watermark.idle_timeout' = '1s', 'WATERMARK.IDLE_TIMEOUT' = '2s')
