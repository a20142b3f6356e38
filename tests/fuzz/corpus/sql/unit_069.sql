SELECT a FROM s WITH (watermark = '1s')
