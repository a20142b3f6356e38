SELECT a FROM s WITH ('a' '1s')
