SELECT k, COUNT(*) FROM t GROUP BY k WINDOW SESSION(_TIMESTAMP, 1h) WITH ('late.data.strategy' = 'dead_letter')
