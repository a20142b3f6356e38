SELECT select FROM s
