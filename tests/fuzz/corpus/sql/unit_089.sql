SELECT id, price * quantity AS notional, UPPER(symbol) AS sym FROM trades WHERE id > 0
