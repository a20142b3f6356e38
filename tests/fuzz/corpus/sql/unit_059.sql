SELECT "select" FROM s
