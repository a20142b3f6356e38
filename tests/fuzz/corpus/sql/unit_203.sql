select Amount fRoM Orders
