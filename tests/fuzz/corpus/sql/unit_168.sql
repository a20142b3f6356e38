SELECT a FROM s WITH ('late.data.strategy' = 'retry')
