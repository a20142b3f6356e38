SELECT "we""ird" AS "o""k", 'it''s' AS s, "cafÃ©" FROM "my stream" WHERE "a b" = 'â¬'
