SELECT a FROM s WITH ('watermark.idle_timeout' = '5')
