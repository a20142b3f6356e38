SELECT a FROM s WITH ('watermark.delay' = '1s')
