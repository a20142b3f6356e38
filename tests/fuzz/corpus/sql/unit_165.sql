SELECT a FROM s WITH ('watermark.max_out_of_orderness' = 'soon')
