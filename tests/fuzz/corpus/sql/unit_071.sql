SELECT a FROM s WITH ('a' = drop)
