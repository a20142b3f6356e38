# The BENCH.md scenarios: data set and SQL of each (sourced by the bench scripts).
# shellcheck shell=bash disable=SC2034
declare -A DATASET SQL
DATASET[S0]=s0
SQL[S0]="SELECT order_id, customer_id, order_date, total_amount FROM orders WHERE total_amount > 100"
DATASET[S1]=s1
SQL[S1]="SELECT symbol, price, AVG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY timestamp) AS moving_avg FROM market_data"
DATASET[S2]=s2
SQL[S2]="SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, MAX(price) AS max_price, SUM(quantity) AS total_quantity FROM market_data GROUP BY symbol"
DATASET[S3a]=s3-dense
SQL[S3a]="SELECT trader_id, symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, SUM(quantity) AS total_quantity, SUM(price * quantity) AS total_value FROM market_data GROUP BY trader_id, symbol WINDOW TUMBLING (trade_time, INTERVAL '1' MINUTE)"
DATASET[S3b]=s3-dense
SQL[S3b]="${SQL[S3a]} EMIT CHANGES"
DATASET[1BRC]=1brc
SQL[1BRC]="SELECT station, MIN(temperature) AS min_temp, AVG(temperature) AS avg_temp, MAX(temperature) AS max_temp FROM measurements GROUP BY station EMIT FINAL"

