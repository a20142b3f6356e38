SELECT UPPER(sym) AS s, upper( sym ) || '!' AS t, COUNT(*) FROM trades GROUP BY UPPER(sym)
