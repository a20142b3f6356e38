SELECT SUM(price * quantity) AS v, MAX(CASE WHEN a > 0 THEN a END) AS m FROM s
