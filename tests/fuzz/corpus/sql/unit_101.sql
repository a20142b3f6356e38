SELECT customer.id AS cid, COUNT(*) AS n FROM e GROUP BY cid
