// Load test of the batch gateway (`npm run bench:gateway`, after `npm run build`): sustained batches of
// 50 items from autocannon against `dify-batch serve` in front of the emulator (fixed latency), each in
// its own process so CPU and memory are the gateway's own. Prints a markdown section for bench/RESULTS.md.
//
// Phases, all bounded in time: (1) sustained load: batch latency p50/p99, items/s, gateway CPU per item;
// (2) the same items through `dify-batch run` (file in, file out): its CPU per item; (3) a soak: memory
// sampled from the gateway's own /metrics every 10 s. A full run replaces the "## Batch gateway" section
// of bench/RESULTS.md (which `npm run bench` keeps); `--quick` shortens every phase and writes nothing.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

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

/** Replaces the "## Batch gateway" section of RESULTS.md (up to the next `## `), or appends it. */
function writeSection(path, section) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const start = lines.indexOf('## Batch gateway');
  let text;
  if (start === -1) {
    text = `${lines.join('\n').trimEnd()}\n\n${section}\n`;
  } else {
    let end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
    if (end === -1) end = lines.length;
    const after = lines.slice(end).join('\n');
    text = `${lines.slice(0, start).join('\n')}\n${section}\n${after === '' ? '' : `\n${after}`}`;
  }
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
  console.error(`wrote the "Batch gateway" section of ${path}`);
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
  const first = samples[0];
  const last = samples.at(-1);
  const maxRss = Math.max(...samples.map((s) => s.rssBytes));

  const lines = [
    '## Batch gateway',
    '',
    `Generated by \`npm run bench:gateway${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString()}. One run on a shared machine`,
    '(other engineers were running tests and benchmarks on the same 2 cores): the numbers are noisy; compare them with care.',
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${cpuModel} × ${cpus().length} (nproc ${cpus().length}) |`,
    `| Node | ${process.version} |`,
    `| load average (1 min) | ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end |`,
    '',
    `Configuration: emulator (own process) with a fixed ${CONFIG.latencyMs} ms latency; \`dify-batch serve --concurrency ${CONFIG.gatewayConcurrency}\``,
    `(own process, default queue, info-level JSON logs to /dev/null); autocannon ${CONFIG.connections} connections, each POSTing`,
    `\`/v1/workflows/run/batch\` with ${CONFIG.itemsPerBatch} items again as soon as the previous answer came; 2 s warm-up first.`,
    `\`run\` gets the same number of records (capped at 50,000) from an NDJSON file at \`--concurrency ${CONFIG.gatewayConcurrency}\`;`,
    'its process start-up CPU (a 1-record run) is subtracted. CPU is user + system time of the process alone.',
    '',
    '| sustained load | value |',
    '|---|---:|',
    `| duration | ${CONFIG.sustainedSeconds} s |`,
    `| batches answered (2xx / non-2xx / errors) | ${sustained['2xx']} / ${sustained.non2xx} / ${sustained.errors} |`,
    `| batches/s (mean) | ${sustained.requests.average.toFixed(1)} |`,
    `| items/s | ${(gatewayItems / CONFIG.sustainedSeconds).toFixed(0)} |`,
    `| batch latency p50 | ${sustained.latency.p50} ms |`,
    `| batch latency p99 | ${sustained.latency.p99} ms |`,
    `| ideal batch latency (${CONFIG.connections * CONFIG.itemsPerBatch} items in flight ÷ ${CONFIG.gatewayConcurrency} slots × ${CONFIG.latencyMs} ms) | ${(((CONFIG.connections * CONFIG.itemsPerBatch) / CONFIG.gatewayConcurrency) * CONFIG.latencyMs).toFixed(0)} ms |`,
    `| gateway CPU per item | ${gatewayCpuPerItemUs.toFixed(1)} µs |`,
    `| \`run\` CPU per item (${runRecords} records, ${(run.wallMs / 1000).toFixed(1)} s) | ${runCpuPerItemUs.toFixed(1)} µs |`,
    `| gateway ÷ run CPU per item | ${(gatewayCpuPerItemUs / runCpuPerItemUs).toFixed(2)} |`,
    '',
    `Soak: ${CONFIG.soakSeconds} s of the same load (${soak['2xx']} batches, ${soak.non2xx} non-2xx, ${soak.errors} errors); the gateway's memory from its own \`/metrics\`:`,
    '',
    '| t (s) | RSS (MB) | heap used (MB) |',
    '|---:|---:|---:|',
    ...samples.map((s) => `| ${s.t} | ${mb(s.rssBytes)} | ${mb(s.heapUsedBytes)} |`),
    '',
    `RSS ${mb(first.rssBytes)} MB at ${first.t} s, ${mb(last.rssBytes)} MB at ${last.t} s (max ${mb(maxRss)} MB); heap used ${mb(first.heapUsedBytes)} → ${mb(last.heapUsedBytes)} MB.`,
  ];
  const section = lines.join('\n');
  console.log(section);
  if (!quick) writeSection(join(import.meta.dirname, '../RESULTS.md'), section);
} finally {
  await stop(gateway.child);
  await stop(emulator.child);
  await rm(dir, { recursive: true, force: true });
}
