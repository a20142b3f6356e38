SELECT a.b.c, "weird name", "x"."y z", "select" FROM s
