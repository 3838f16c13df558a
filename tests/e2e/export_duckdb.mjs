// Runs the DuckDB blocks of docs/fleet.md verbatim (fenced ```sql duckdb NAME) with DuckDB
// (@duckdb/node-api) in a folder holding export/, and checks each answer against `runtrail ls`
// on the catalog the export came from. Prints "ok NAME" or "not ok NAME: detail" lines for
// tests/e2e/export.sh, and "time NAME MS" for each query.
//   node export_duckdb.mjs DOCS.md WORKDIR RUNTRAIL CACHE
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [docs, workdir, runtrail, cache] = process.argv.slice(2);
const blocks = {};
for (const m of readFileSync(docs, 'utf8').matchAll(/^```sql duckdb (\S+)\n([\s\S]*?)^```$/gm))
  blocks[m[1]] = m[2];
let failed = 0;
const ok = (name, cond, detail) => {
  console.log(cond ? `ok ${name}` : `not ok ${name}: ${detail}`);
  if (!cond) failed++;
};
const ls = (...args) => {
  try {
    const out = execFileSync(runtrail, ['ls', '--cache', cache, '--json', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch (e) {
    if (e.status === 1) return []; // nothing matched
    throw e;
  }
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

ok('docs/fleet.md has the setup and the four questions',
  ['setup', 'talked-to-ip', 'environ-readers', 'changed-after-deploy', 'recorder-cost'].every((k) => blocks[k]),
  `blocks found: ${Object.keys(blocks)}`);
process.chdir(workdir);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const run = async (name) => {
  const t0 = performance.now();
  const r = await con.runAndReadAll(blocks[name]);
  console.log(`time ${name} ${(performance.now() - t0).toFixed(1)}`);
  return r.getRowObjectsJson();
};
for (const stmt of blocks.setup.split(/;\s*$/m).filter((s) => s.trim())) await con.run(stmt);

// 1. every function that talked to 203.0.113.9 this week = ls --dest 203.0.113.9 --since 7d
const ip = await run('talked-to-ip');
const want = {};
for (const r of ls('--dest', '203.0.113.9', '--since', '7d')) want[r.function] = (want[r.function] || 0) + 1;
const got = Object.fromEntries(ip.map((r) => [r.function, Number(r.invocations)]));
ok('talked-to-ip: the functions and their invocation counts are those of ls --dest --since 7d',
  Object.keys(want).length > 0 && same(got, Object.fromEntries(Object.entries(want).sort())),
  `duckdb ${JSON.stringify(got)} ls ${JSON.stringify(want)}`);
const ever = new Set(ls('--dest', '203.0.113.9').map((r) => r.function));
ok('talked-to-ip: "this week" leaves out a function that talked to it before the week',
  ever.size > Object.keys(got).length, `ever ${[...ever]} this week ${Object.keys(got)}`);

// 2. the invocations that read a process environment = ls --path '/proc/*/environ'
const env = await run('environ-readers');
const envGot = [...new Set(env.map((r) => r.request_id))].sort();
const envWant = ls('--path', '/proc/*/environ').map((r) => r.request_id).sort();
ok('environ-readers: the request ids of ls --path /proc/*/environ',
  envWant.length > 0 && same(envGot, envWant), `duckdb ${envGot.length} ls ${envWant.length}`);

// 3. what the newest version ran or reached that earlier versions did not: for every function
// with several versions and every destination and program of the export, ls --function F
// --dest D (--exec P) lists invocations all of the newest version exactly when DuckDB says so.
const changed = await run('changed-after-deploy');
const gotChanged = changed.map((r) => `${r.function} ${r.deployed} ${r.what} ${r.item}`).sort();
const items = (await con.runAndReadAll(
  `SELECT DISTINCT 'destination' AS what, unnest(destinations) AS item FROM invocations
   UNION SELECT DISTINCT 'program', unnest(programs) FROM invocations`)).getRowObjectsJson();
const wantChanged = [];
for (const fn of [...new Set(ls().map((r) => r.function))]) {
  const rows = ls('--function', fn);
  const latest = rows[rows.length - 1].version;
  if (rows.every((r) => r.version === latest)) continue; // never redeployed
  for (const { what, item } of items) {
    const hits = ls('--function', fn, what === 'program' ? '--exec' : '--dest', item);
    if (hits.length && hits.every((r) => r.version === latest)) wantChanged.push(`${fn} ${latest} ${what} ${item}`);
  }
}
wantChanged.sort();
ok('changed-after-deploy: the new destinations and programs ls finds only in the newest version',
  wantChanged.length > 0 && same(gotChanged, wantChanged),
  `duckdb ${JSON.stringify(gotChanged)} ls ${JSON.stringify(wantChanged)}`);

// 4. the recorder's cost per function: the bundles of ls --function F, the sum and median of
// META recorder_cpu_ns as gen_invocations --recorder-cpu set it (thumbnailer only: NS +
// (I % 5) * 100000 for invocation I, the last 12 hex digits of its request id; null elsewhere),
// and the sum of its proc_start durations (thumbnailer: 100000 + (I % 3) * 20000 ns; 0 elsewhere).
const cost = await run('recorder-cost');
const gotCost = cost.map((r) => `${r.function} ${r.bundles} ${r.recorder_cpu_ms} ${r.warm_median_ms} ${r.interposer_start_ms}`);
const wantCost = [...new Set(ls().map((r) => r.function))].sort().map((fn) => {
  const rows = ls('--function', fn);
  if (fn !== 'thumbnailer') return `${fn} ${rows.length} null null 0`;
  const inv = rows.map((r) => parseInt(r.request_id.slice(-12), 16));
  const ms = inv.map((i) => (700000 + (i % 5) * 100000) / 1e6).sort((a, b) => a - b);
  const sum = ms.reduce((a, b) => a + b, 0);
  const mid = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
  const starts = inv.reduce((a, i) => a + 100000 + (i % 3) * 20000, 0) / 1e6;
  return `${fn} ${rows.length} ${Math.round(sum * 1000) / 1000} ${Math.round(mid * 1000) / 1000} ${Math.round(starts * 1000) / 1000}`;
});
ok('recorder-cost: the bundles of ls --function F, the sum and median of recorder_cpu_ms, the sum of proc_start durations',
  same(gotCost, wantCost), `duckdb ${JSON.stringify(gotCost)} want ${JSON.stringify(wantCost)}`);
process.exit(failed ? 1 : 0);
