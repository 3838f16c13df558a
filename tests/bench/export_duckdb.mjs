// The export benchmark's DuckDB side (tests/bench/export.sh): runs the setup block of
// docs/fleet.md and then each named ```sql duckdb block RUNS times in WORKDIR (which holds
// export/), printing "NAME ROWS MEDIAN_MS" per query.
//   node export_duckdb.mjs DOCS.md WORKDIR RUNS NAME...
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const [docs, workdir, runs, ...names] = process.argv.slice(2);
const blocks = {};
for (const m of readFileSync(docs, 'utf8').matchAll(/^```sql duckdb (\S+)\n([\s\S]*?)^```$/gm))
  blocks[m[1]] = m[2];
process.chdir(workdir);
const con = await (await DuckDBInstance.create(':memory:')).connect();
for (const stmt of blocks.setup.split(/;\s*$/m).filter((s) => s.trim())) await con.run(stmt);
for (const name of names) {
  const times = [];
  let rows = 0;
  for (let i = 0; i < Number(runs); i++) {
    const t0 = performance.now();
    rows = (await con.runAndReadAll(blocks[name])).getRowObjectsJson().length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`${name} ${rows} ${times[Math.floor(times.length / 2)].toFixed(0)}`);
}
