#!/usr/bin/env node
// Summarise a V8 .cpuprofile (from `node bench/run.mjs --cpu-prof`): self time by function and
// by file, heaviest first, optionally only between two times (seconds after the profile began).
// usage: node bench/prof-summary.mjs FILE.cpuprofile [top=25] [fromSeconds] [toSeconds]
import { readFileSync } from 'node:fs';

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/prof-summary.mjs FILE.cpuprofile [top] [fromSeconds] [toSeconds]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
const deltas = prof.timeDeltas;
const from = Number(fromArg ?? 0) * 1e6;
const to = toArg === undefined ? Number.POSITIVE_INFINITY : Number(toArg) * 1e6;
let t = 0;
for (let i = 0; i < prof.samples.length; i++) {
  t += deltas[i] ?? 0;
  if (t < from || t > to) continue;
  const id = prof.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const fnSelf = new Map();
const fileSelf = new Map();
for (const [id, us] of selfUs) {
  const { callFrame: f } = byId.get(id);
  const where = f.url ? f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/') : '(native)';
  const fn = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
  fnSelf.set(fn, (fnSelf.get(fn) ?? 0) + us);
  fileSelf.set(where, (fileSelf.get(where) ?? 0) + us);
}
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`total sampled ${(total / 1e6).toFixed(2)} s`);
show('self time by function', fnSelf);
show('self time by file', fileSelf);
