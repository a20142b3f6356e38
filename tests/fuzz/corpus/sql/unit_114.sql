SELECT a.b + 1, COUNT(*) FROM s
