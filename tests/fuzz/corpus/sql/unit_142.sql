SELECT date_trunc(a) FROM s
