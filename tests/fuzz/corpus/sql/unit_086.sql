SELECT orders.amount FROM orders
