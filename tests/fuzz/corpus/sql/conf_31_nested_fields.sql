SELECT customer.id AS cid, SUM(cart.total) AS spent, COUNT(*) AS n FROM events GROUP BY customer.id EMIT FINAL
-- input
{"customer":{"id":"c1","name":"Ann"},"cart":{"total":10.5,"items":2}}
{"customer":{"id":"c2","name":"Bob"},"cart":{"total":3.0,"items":1}}
{"customer":{"id":"c1","name":"Ann"},"cart":{"total":4.5,"items":1}}
{"customer":{"id":"c2"},"cart":{}}
