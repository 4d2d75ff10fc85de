// Load test of the batch gateway (`npm run bench:gateway`, after `npm run build`): sustained batches of
// 50 items from autocannon against `dify-batch serve` in front of the emulator (fixed latency), each in
// its own process so CPU and memory are the gateway's own. Prints a markdown section for bench/RESULTS.md.
//
// Phases, all bounded in time: (1) sustained load: batch latency p50/p99, items/s, gateway CPU per item;
// (2) the same items through `dify-batch run` (file in, file out): its CPU per item; (3) a soak: memory
// sampled from the gateway's own /metrics every 10 s. A full run writes bench/out/gateway.json and, from it,
// the "Batch gateway" section of bench/RESULTS.md (a side run: bench/sideRuns.ts, built into
// bench/out/dist/side-runs.js); `--quick` shortens every phase and writes nothing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { renderSideRun, writeSideRun } from '../out/dist/side-runs.js';

const quick = process.argv.includes('--quick');
const CONFIG = Object.freeze({
  itemsPerBatch: 50,
  latencyMs: 20,
  gatewayConcurrency: 32,
  connections: 4,
  sustainedSeconds: quick ? 5 : 30,
  soakSeconds: quick ? 10 : 150,
  sampleEverySeconds: quick ? 2 : 10,
});
const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');
const KEY = 'app-EmulatorWorkflowKey00001';

/** Spawns a dify-batch command and resolves with the child and the first stdout line (its URL). */
function startProcess(args) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline !== -1) resolve({ child, url: out.slice(0, newline) });
    });
    child.once('exit', (code) => reject(new Error(`dify-batch ${args[0]} exited with ${code}`)));
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

/** Reads samples from a Prometheus text exposition. */
async function scrape(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2]);
  return {
    cpuSeconds: value('process_cpu_seconds_total'),
    rssBytes: value('process_resident_memory_bytes'),
    heapUsedBytes: value('nodejs_heap_size_used_bytes'),
    items:
      value('dify_batch_items_total{outcome="succeeded"}') +
      (value('dify_batch_items_total{outcome="failed"}') || 0),
  };
}

function cannon(url, seconds, body) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/workflows/run/batch`,
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body,
        connections: CONFIG.connections,
        duration: seconds,
        timeout: 60,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** CPU seconds (user + sys) of `dify-batch run` over `records` records, read with bash's `times`. */
async function runCpu(emulatorUrl, dir, records) {
  const input = join(dir, `in-${records}.ndjson`);
  await writeFile(
    input,
    Array.from({ length: records }, (_, i) => JSON.stringify({ id: `r${i}`, text: `row ${i}` })).join('\n'),
  );
  const command = `"${process.execPath}" "${MAIN}" run -i "${input}" -o "${join(dir, 'out.ndjson')}" --concurrency ${CONFIG.gatewayConcurrency} --no-progress >/dev/null 2>&1; times`;
  const started = performance.now();
  const output = await new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], {
      env: { ...process.env, DIFY_BASE_URL: emulatorUrl, DIFY_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (c) => (text += c));
    child.once('exit', () => resolve(text));
    child.once('error', reject);
  });
  const wallMs = performance.now() - started;
  // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.056s".
  const seconds = (t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t);
    return Number(m) * 60 + Number(s);
  };
  const [user, sys] = output.trim().split('\n')[1].split(' ');
  return { cpuSeconds: seconds(user) + seconds(sys), wallMs };
}

/** The "Batch gateway" section's body, from bench/out/gateway.json's `data`. */
function renderGatewayBody({ config, sustained, gatewayCpuPerItemUs, run, soak }) {
  const first = soak.samples[0];
  const last = soak.samples.at(-1);
  const maxRss = Math.max(...soak.samples.map((s) => s.rssBytes));
  return [
    `Configuration: emulator (own process) with a fixed ${config.latencyMs} ms latency; \`dify-batch serve --concurrency ${config.gatewayConcurrency}\``,
    `(own process, default queue, info-level JSON logs to /dev/null); autocannon ${config.connections} connections, each POSTing`,
    `\`/v1/workflows/run/batch\` with ${config.itemsPerBatch} items again as soon as the previous answer came; 2 s warm-up first.`,
    `\`run\` gets the same number of records (capped at 50,000) from an NDJSON file at \`--concurrency ${config.gatewayConcurrency}\`;`,
    'its process start-up CPU (a 1-record run) is subtracted. CPU is user + system time of the process alone.',
    '',
    '| sustained load | value |',
    '|---|---:|',
    `| duration | ${config.sustainedSeconds} s |`,
    `| batches answered (2xx / non-2xx / errors) | ${sustained.ok} / ${sustained.non2xx} / ${sustained.errors} |`,
    `| batches/s (mean) | ${sustained.batchesPerSecond.toFixed(1)} |`,
    `| items/s | ${sustained.itemsPerSecond.toFixed(0)} |`,
    `| batch latency p50 | ${sustained.latencyP50Ms} ms |`,
    `| batch latency p99 | ${sustained.latencyP99Ms} ms |`,
    `| ideal batch latency (${config.connections * config.itemsPerBatch} items in flight ÷ ${config.gatewayConcurrency} slots × ${config.latencyMs} ms) | ${(((config.connections * config.itemsPerBatch) / config.gatewayConcurrency) * config.latencyMs).toFixed(0)} ms |`,
    `| gateway CPU per item | ${gatewayCpuPerItemUs.toFixed(1)} µs |`,
    `| \`run\` CPU per item (${run.records} records, ${run.wallS.toFixed(1)} s) | ${run.cpuPerItemUs.toFixed(1)} µs |`,
    `| gateway ÷ run CPU per item | ${(gatewayCpuPerItemUs / run.cpuPerItemUs).toFixed(2)} |`,
    '',
    `Soak: ${config.soakSeconds} s of the same load (${soak.ok} batches, ${soak.non2xx} non-2xx, ${soak.errors} errors); the gateway's memory from its own \`/metrics\`:`,
    '',
    '| t (s) | RSS (MB) | heap used (MB) |',
    '|---:|---:|---:|',
    ...soak.samples.map((s) => `| ${s.t} | ${mb(s.rssBytes)} | ${mb(s.heapUsedBytes)} |`),
    '',
    `RSS ${mb(first.rssBytes)} MB at ${first.t} s, ${mb(last.rssBytes)} MB at ${last.t} s (max ${mb(maxRss)} MB); heap used ${mb(first.heapUsedBytes)} → ${mb(last.heapUsedBytes)} MB.`,
  ].join('\n');
}

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const cpuModel =
  (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) ?? [])[1] ?? cpus()[0]?.model;

const dir = await mkdtemp(join(tmpdir(), 'dify-batch-gateway-bench-'));
const emulator = await startProcess(['emulator', '--port', '0', '--latency-ms', String(CONFIG.latencyMs)]);
const gateway = await startProcess([
  'serve',
  '--port',
  '0',
  '--upstream',
  emulator.url,
  '--concurrency',
  String(CONFIG.gatewayConcurrency),
]);
const loadAtStart = loadavg()[0];
const started = new Date().toISOString();
try {
  const body = JSON.stringify({
    inputs: Array.from({ length: CONFIG.itemsPerBatch }, (_, i) => ({ id: `g${i}`, text: `row ${i}` })),
    user: 'bench',
    response_mode: 'blocking',
  });
  // Warm-up: JIT, connection pools.
  await cannon(gateway.url, 2, body);

  // (1) Sustained load.
  const before = await scrape(gateway.url);
  const sustained = await cannon(gateway.url, CONFIG.sustainedSeconds, body);
  const after = await scrape(gateway.url);
  const gatewayItems = after.items - before.items;
  const gatewayCpuPerItemUs = ((after.cpuSeconds - before.cpuSeconds) / gatewayItems) * 1e6;

  // (2) `run` over the same number of items (capped), its start-up cost measured apart and subtracted.
  const runRecords = Math.min(gatewayItems, quick ? 5_000 : 50_000);
  const startup = await runCpu(emulator.url, dir, 1);
  const run = await runCpu(emulator.url, dir, runRecords);
  const runCpuPerItemUs = ((run.cpuSeconds - startup.cpuSeconds) / runRecords) * 1e6;

  // (3) Soak: memory sampled while the load runs.
  const samples = [];
  const soakStarted = performance.now();
  const sampler = setInterval(async () => {
    const s = await scrape(gateway.url).catch(() => undefined);
    if (s) samples.push({ t: Math.round((performance.now() - soakStarted) / 1000), ...s });
  }, CONFIG.sampleEverySeconds * 1000);
  const soak = await cannon(gateway.url, CONFIG.soakSeconds, body);
  clearInterval(sampler);

  const data = {
    config: CONFIG,
    sustained: {
      ok: sustained['2xx'],
      non2xx: sustained.non2xx,
      errors: sustained.errors,
      batchesPerSecond: sustained.requests.average,
      itemsPerSecond: gatewayItems / CONFIG.sustainedSeconds,
      latencyP50Ms: sustained.latency.p50,
      latencyP99Ms: sustained.latency.p99,
    },
    gatewayCpuPerItemUs,
    run: { records: runRecords, wallS: run.wallMs / 1000, cpuPerItemUs: runCpuPerItemUs },
    soak: { ok: soak['2xx'], non2xx: soak.non2xx, errors: soak.errors, samples },
  };
  const sideRun = {
    name: 'gateway',
    command: `npm run bench:gateway${quick ? ' -- --quick' : ''}`,
    date: started,
    machine: {
      cpu: cpuModel,
      cores: cpus().length,
      totalMemGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      os: `${process.platform} ${process.arch}`,
      loadAvgStart: loadAtStart,
      loadAvgEnd: loadavg()[0],
    },
    node: process.version,
    body: renderGatewayBody(data),
    data,
  };
  console.log(renderSideRun(sideRun));
  if (!quick) {
    writeSideRun(join(import.meta.dirname, '../..'), sideRun);
    console.error('wrote bench/out/gateway.json and the "Batch gateway" section of bench/RESULTS.md');
  }
} finally {
  await stop(gateway.child);
  await stop(emulator.child);
  await rm(dir, { recursive: true, force: true });
}
