// The DuckDB side of bench/peers.sh: one BENCH.md scenario over an NDJSON
// file, result rows written as NDJSON by DuckDB itself (COPY ... TO, FORMAT
// json), so both systems decode JSON, aggregate and serialize every row.
//
//   node duckdb_query.mjs SCENARIO INPUT.ndjson OUTPUT.ndjson [--threads N]
//   node duckdb_query.mjs --sql SCENARIO      the SQL, with INPUT as the path
//   node duckdb_query.mjs --version           DuckDB and @duckdb/node-api versions
//
// A run prints one JSON line on stdout: scenario, threads, the DuckDB version,
// setup_seconds (instance and connection), query_seconds (the COPY statement:
// read, aggregate, write) and process_seconds (since the process started,
// Node's own start-up included). peers.sh reports the wall time of the whole
// node process, measured outside, as it does for sluice.
//
// Input columns are given with explicit types and auto-detection off, so
// DuckDB parses exactly the fields and types sluice's field plan reads.

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import duckdb, { DuckDBInstance } from '@duckdb/node-api';

// The input schema of each data set (BENCH.md's generators) and each
// scenario's query, as standard SQL over `input`.
const COLUMNS = {
  s2: { symbol: 'VARCHAR', price: 'DOUBLE', quantity: 'BIGINT' },
  's3-dense': { trader_id: 'VARCHAR', symbol: 'VARCHAR', price: 'DOUBLE', quantity: 'BIGINT', trade_time: 'BIGINT' },
  '1brc': { station: 'VARCHAR', temperature: 'DOUBLE' },
};

const SCENARIOS = {
  // S2 as a plain GROUP BY: the final row of every group.
  S2: {
    dataset: 's2',
    sql: 'SELECT symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, MIN(price) AS min_price, ' +
      'MAX(price) AS max_price, SUM(quantity) AS total_quantity FROM input GROUP BY symbol',
  },
  // S3a: tumbling 1-minute windows on trade_time (epoch ms), one row per
  // window and group; like sluice's S3a rows, the window bounds are not selected.
  S3a: {
    dataset: 's3-dense',
    sql: 'SELECT trader_id, symbol, COUNT(*) AS trade_count, AVG(price) AS avg_price, ' +
      'SUM(quantity) AS total_quantity, SUM(price * quantity) AS total_value FROM input ' +
      'GROUP BY trader_id, symbol, trade_time - trade_time % 60000',
  },
  '1BRC': {
    dataset: '1brc',
    sql: 'SELECT station, MIN(temperature) AS min_temp, AVG(temperature) AS avg_temp, ' +
      'MAX(temperature) AS max_temp FROM input GROUP BY station',
  },
};

const quote = (s) => `'${String(s).replaceAll("'", "''")}'`;

// The scenario's query with `input` replaced by the NDJSON reader.
function scenarioSql(name, input) {
  const sc = SCENARIOS[name];
  const cols = Object.entries(COLUMNS[sc.dataset]).map(([k, t]) => `${k}: ${quote(t)}`).join(', ');
  const reader = `read_json(${quote(input)}, format = 'newline_delimited', records = true, ` +
    `auto_detect = false, columns = {${cols}})`;
  return sc.sql.replace(/\bFROM input\b/, `FROM ${reader}`);
}

function usage(msg) {
  if (msg) console.error(`duckdb_query.mjs: ${msg}`);
  console.error('usage: node duckdb_query.mjs SCENARIO INPUT OUTPUT [--threads N] | --sql SCENARIO | --version');
  console.error(`scenarios: ${Object.keys(SCENARIOS).join(' ')}`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args[0] === '--version') {
  const require = createRequire(import.meta.url);
  const api = require('@duckdb/node-api/package.json').version;
  console.log(`DuckDB ${duckdb.version()} (@duckdb/node-api ${api}, Node ${process.version})`);
  process.exit(0);
}
if (args[0] === '--sql') {
  if (!SCENARIOS[args[1]]) usage(`unknown scenario '${args[1] ?? ''}'`);
  console.log(scenarioSql(args[1], 'INPUT'));
  process.exit(0);
}

let threads = 1;
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--threads') {
    threads = Number(args[++i]);
    if (!Number.isInteger(threads) || threads < 1) usage('--threads needs a positive integer');
  } else {
    pos.push(args[i]);
  }
}
if (pos.length !== 3) usage();
const [scenario, input, output] = pos;
if (!SCENARIOS[scenario]) usage(`unknown scenario '${scenario}'`);

const t0 = performance.now();
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
const t1 = performance.now();
await connection.run(`COPY (${scenarioSql(scenario, input)}) TO ${quote(output)} (FORMAT json)`);
const t2 = performance.now();
connection.closeSync();
instance.closeSync();

console.log(JSON.stringify({
  scenario,
  threads,
  duckdb: duckdb.version(),
  setup_seconds: +((t1 - t0) / 1e3).toFixed(6),
  query_seconds: +((t2 - t1) / 1e3).toFixed(6),
  process_seconds: +(performance.now() / 1e3).toFixed(6),
}));
