SELECT customer_id, FIRST(product) AS first_product, LAST(product) AS last_product,
       COUNT(DISTINCT category) AS n_cat, COUNT(*) AS n
FROM orders GROUP BY customer_id EMIT FINAL
-- input
{"customer_id":1,"product":"apple","category":"electronics"}
{"customer_id":2,"product":"dates","category":"food"}
{"customer_id":1,"product":"banana","category":"books"}
{"customer_id":1,"product":"cherry","category":"electronics"}
{"customer_id":1,"product":null,"category":"clothing"}
