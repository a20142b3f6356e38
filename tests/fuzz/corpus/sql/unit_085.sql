SELECT t.x, t.y.z FROM s t WHERE t.x > 1
