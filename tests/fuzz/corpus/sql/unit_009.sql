SELECT "_TIMESTAMP" AS t, _timestamp AS arrival FROM s
