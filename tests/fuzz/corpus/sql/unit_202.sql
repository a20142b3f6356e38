SELECT a.b, COUNT(*) FROM t WHERE x >= 1.5 AND y <> 'q' OR z != 2;
