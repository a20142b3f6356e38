SELECT a AS x, b y, c "Z z" FROM s t
