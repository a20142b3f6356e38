SELECT orders.amount FROM orders o
