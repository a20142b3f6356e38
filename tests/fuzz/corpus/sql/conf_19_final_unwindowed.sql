SELECT station, MIN(temperature) AS min_temp, AVG(temperature) AS avg_temp, MAX(temperature) AS max_temp
FROM measurements GROUP BY station EMIT FINAL
-- input
{"station":"London","temperature":15.0}
{"station":"Paris","temperature":20.0}
{"station":"Tokyo","temperature":30.0}
{"station":"London","temperature":10.0}
{"station":"Paris","temperature":25.0}
{"station":"Tokyo","temperature":35.0}
{"station":"London","temperature":20.0}
{"station":"Paris","temperature":15.0}
{"station":"Tokyo","temperature":25.0}
