SELECT user_id, _WINDOW_START AS ws, _WINDOW_END AS we, COUNT(*) AS clicks
FROM clicks GROUP BY user_id WINDOW SESSION(ts, INTERVAL '3' SECOND)
-- input
{"user_id":"u1","ts":1000}
{"user_id":"u1","ts":2000}
{"user_id":"u2","ts":2500}
{"user_id":"u2","ts":5500}
{"user_id":"u1","ts":6000}
{"user_id":"u1","ts":7000}
{"user_id":"u2","ts":9000}
{"user_id":"u1","ts":11000}
