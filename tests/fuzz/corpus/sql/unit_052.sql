SELECT f(a b) FROM s
