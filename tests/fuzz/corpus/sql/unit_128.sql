SELECT a AS x, b, c.d, COUNT(*), SUM(price * quantity), SUM(a)/SUM(b), MAX( "q r" ) FROM s GROUP BY a, b, c.d
