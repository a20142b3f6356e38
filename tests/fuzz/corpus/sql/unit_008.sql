SELECT Amount, amount FROM s
