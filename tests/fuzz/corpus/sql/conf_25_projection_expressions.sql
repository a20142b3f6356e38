SELECT id, price * quantity AS notional, UPPER(symbol) AS sym,
       CASE WHEN side = 'B' THEN 1 ELSE -1 END AS sign,
       COALESCE(note, 'none') AS note, CAST(qty_str AS BIGINT) AS q2, ROUND(price / 3, 2) AS p3
FROM trades
WHERE symbol LIKE 'a%' OR id IN (7, 9)
-- input
{"id":1,"symbol":"aapl","price":10.5,"quantity":4,"side":"B","note":null,"qty_str":"12"}
{"id":2,"symbol":"msft","price":3.0,"quantity":1,"side":"S","qty_str":"x"}
{"id":7,"symbol":"msft","price":3.0,"quantity":2,"side":"S","note":"n7","qty_str":"x"}
{"id":9,"symbol":"amzn","price":100.0,"quantity":3,"side":"B","note":"n9","qty_str":"5"}
