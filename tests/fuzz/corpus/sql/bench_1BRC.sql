SELECT station, MIN(temperature) AS min_temp, AVG(temperature) AS avg_temp, MAX(temperature) AS max_temp FROM measurements GROUP BY station EMIT FINAL
