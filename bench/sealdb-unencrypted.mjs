#!/usr/bin/env node
// Benchmark only: runs `sealdb start` with page encryption turned off, to measure what
// encryption costs against the same server. Usage: node bench/sealdb-unencrypted.mjs DIST start [flags]
// where DIST holds sealdb's compiled dist/. There is no other way to turn encryption off.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? '.');
const url = (rel) => pathToFileURL(path.join(dist, 'dist/src', rel)).href;
const { disablePageEncryptionForBenchmark } = await import(url('storage/encrypted-db.js'));
disablePageEncryptionForBenchmark();
process.stderr.write('sealdb-unencrypted: BENCHMARK ONLY, table pages are written in plaintext\n');
process.argv.splice(2, 1);
await import(url('cli/main.js'));
