SELECT customer.id AS cid, SUM(cart.total) AS spent, COUNT(*) AS n FROM events WHERE flag = 1 GROUP BY customer.id WINDOW TUMBLING(ts, 1s)
