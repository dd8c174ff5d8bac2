#!/usr/bin/env node
// ONNX Runtime (CPU, onnxruntime-node) peer latency harness for hxrt.
//
// usage: node ort-latency.js MODEL.onnx [--threads 2] [--warmup 5]
//            [--iterations 50] [--seed 1] [--shape NAME=1,3,224,224]... [--json]
//
// Inputs: every entry of session.inputNames (onnxruntime already drops
// initializers that IR<4 models list as graph inputs). Shapes and element
// types come from session.inputMetadata; symbolic/unknown dims default to 1
// unless overridden with --shape. Values are deterministic pseudo-random
// numbers in [-1, 1) from --seed (mulberry32), so runs are reproducible.
'use strict';

const path = require('path');
const ort = require('onnxruntime-node');

function usage(msg) {
  if (msg) process.stderr.write(`ort-latency: ${msg}\n`);
  process.stderr.write(
    'usage: node ort-latency.js MODEL.onnx [--threads N] [--warmup N] ' +
      '[--iterations N] [--seed N] [--shape NAME=D0,D1,...]... [--json]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { threads: 2, warmup: 5, iterations: 50, seed: 1, json: false, shapes: {} };
  const intOpt = (name, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) usage(`--${name} needs an integer >= ${min}, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    switch (a) {
      case '--threads': o.threads = intOpt('threads', next(), 1); break;
      case '--warmup': o.warmup = intOpt('warmup', next(), 0); break;
      case '--iterations': o.iterations = intOpt('iterations', next(), 1); break;
      case '--seed': o.seed = intOpt('seed', next(), 0); break;
      case '--json': o.json = true; break;
      case '--shape': {
        const v = next();
        const eq = v.lastIndexOf('=');
        if (eq <= 0) usage(`--shape wants NAME=D0,D1,..., got '${v}'`);
        const dims = v.slice(eq + 1).split(',').filter((s) => s !== '').map((d) => intOpt('shape', d, 0));
        o.shapes[v.slice(0, eq)] = dims;
        break;
      }
      case '-h': case '--help': usage();
      default:
        if (a.startsWith('--')) usage(`unknown option ${a}`);
        if (o.model) usage(`unexpected argument ${a}`);
        o.model = a;
    }
  }
  if (!o.model) usage('missing MODEL.onnx');
  return o;
}

// mulberry32: tiny deterministic PRNG, returns floats in [0, 1).
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeTensor(name, meta, override, rand) {
  const type = (meta && meta.type) || 'float32';
  let dims = override;
  if (!dims) {
    if (!meta || !Array.isArray(meta.shape)) usage(`no shape known for input '${name}': pass --shape ${name}=...`);
    dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
  }
  const n = dims.reduce((a, b) => a * b, 1);
  let data;
  switch (type) {
    case 'float32': data = new Float32Array(n); for (let i = 0; i < n; i++) data[i] = rand() * 2 - 1; break;
    case 'float64': data = new Float64Array(n); for (let i = 0; i < n; i++) data[i] = rand() * 2 - 1; break;
    case 'int32': data = new Int32Array(n); for (let i = 0; i < n; i++) data[i] = Math.floor(rand() * 16); break;
    case 'int64': data = new BigInt64Array(n); for (let i = 0; i < n; i++) data[i] = BigInt(Math.floor(rand() * 16)); break;
    case 'bool': data = new Uint8Array(n); for (let i = 0; i < n; i++) data[i] = rand() < 0.5 ? 1 : 0; break;
    default: usage(`input '${name}' has unsupported type ${type}`);
  }
  return new ort.Tensor(type, data, dims);
}

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => { // linear interpolation between closest ranks
    const r = p * (s.length - 1), lo = Math.floor(r), hi = Math.ceil(r);
    return s[lo] + (s[hi] - s[lo]) * (r - lo);
  };
  return { min: s[0], median: q(0.5), mean: s.reduce((a, b) => a + b, 0) / s.length, p90: q(0.9) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only: old models warn about unused initializers
  });

  const metaByName = {};
  for (const m of session.inputMetadata || []) metaByName[m.name] = m;
  for (const k of Object.keys(o.shapes)) {
    if (!session.inputNames.includes(k)) usage(`--shape for unknown input '${k}' (inputs: ${session.inputNames.join(', ')})`);
  }
  const rand = rng(o.seed);
  const feeds = {};
  for (const name of session.inputNames) feeds[name] = makeTensor(name, metaByName[name], o.shapes[name], rand);

  for (let i = 0; i < o.warmup; i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < o.iterations; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await session.release();

  const st = stats(ms);
  const version = (ort.env.versions && (ort.env.versions.node || ort.env.versions.common)) || 'unknown';
  const r3 = (x) => Math.round(x * 1000) / 1000;
  if (o.json) {
    process.stdout.write(JSON.stringify({
      model: o.model, threads: o.threads, iterations: o.iterations,
      min_ms: r3(st.min), median_ms: r3(st.median), mean_ms: r3(st.mean), p90_ms: r3(st.p90),
      ort_version: version,
    }) + '\n');
  } else {
    const shapes = session.inputNames.map((n) => `${n}=[${feeds[n].dims.join('x')}]`).join(' ');
    process.stdout.write(
      `${path.basename(o.model)} ort ${version} threads=${o.threads} iters=${o.iterations} ${shapes}: ` +
      `min ${st.min.toFixed(3)} ms, median ${st.median.toFixed(3)} ms, mean ${st.mean.toFixed(3)} ms, ` +
      `p90 ${st.p90.toFixed(3)} ms\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`ort-latency: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
