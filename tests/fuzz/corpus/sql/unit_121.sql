SELECT count() FROM s
