/**
 * `npm run bench:kafka`: end-to-end throughput of the Kafka path (fromKafka → Dify calls → toKafka)
 * against the file path (fromFile → Dify calls → toFile) at the same concurrency, both against the
 * emulator (own process) at a fixed latency. Starts the test broker (scripts/kafka.sh) unless
 * KAFKA_BOOTSTRAP names one, and writes bench/out/kafka.json and, from it, the "Kafka" section of
 * bench/RESULTS.md (a side run: bench/sideRuns.ts).
 *
 * Flags: --records N (20000), --partitions P (6), --concurrency C (64), --latency-ms MS (20).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { EMULATOR_DEFAULT_APPS } from '../src/emulator/EMULATOR_DEFAULT_APPS.js';
import type { RunSummary } from '../src/pipeline/RunSummary.js';
import { runBatch } from '../src/pipeline/runBatch.js';
import { toFile } from '../src/sinks/toFile.js';
import { toKafka } from '../src/sinks/toKafka.js';
import { fromFile } from '../src/sources/fromFile.js';
import { fromKafka } from '../src/sources/fromKafka.js';
import { machineInfo } from './BenchResults.js';
import { EmulatorProcess } from './EmulatorProcess.js';
import { renderSideRun, type SideRun, writeSideRun } from './sideRuns.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;

interface PathResult {
  readonly path: string;
  readonly summary: RunSummary;
  readonly wallMs: number;
  /** When the first batch of results was written, and how many it held: start-up cost vs steady rate. */
  readonly first: { readonly atMs: number; readonly written: number };
}

/** An onProgress that remembers the first written batch (runBatch reports after each write). */
function firstWrite(started: number) {
  let first: { atMs: number; written: number } | undefined;
  return {
    onProgress: (p: { written: number }) => {
      if (first === undefined && p.written > 0)
        first = { atMs: performance.now() - started, written: p.written };
    },
    get: () => first ?? { atMs: 0, written: 0 },
  };
}

/** What bench/out/kafka.json keeps: the configuration and, per path, the measured numbers. */
interface KafkaBenchData {
  readonly records: number;
  readonly partitions: number;
  readonly concurrency: number;
  readonly latencyMs: number;
  /** concurrency ÷ latency, records/s. */
  readonly ceiling: number;
  readonly paths: readonly {
    readonly path: string;
    readonly written: number;
    readonly wallS: number;
    readonly perSecond: number;
    readonly firstWriteS: number;
    readonly steadyPerSecond: number;
    readonly latencyP50Ms: number;
    readonly latencyP99Ms: number;
  }[];
}

/** The Kafka section's body, from its JSON. */
function renderKafkaBody(d: KafkaBenchData): string {
  return [
    `${d.records} records, ${d.partitions} input partitions, concurrency ${d.concurrency} (window ${16 * d.concurrency}),`,
    `emulator (own process) at a fixed ${d.latencyMs} ms per call, so the ceiling is concurrency ÷ latency =`,
    `${d.ceiling.toFixed(0)} records/s. Broker: Apache Kafka 4.1.2 (single node, KRaft, scripts/kafka.sh) on the same`,
    'machine; client kafkajs 2.2.4; output acks=all from an idempotent producer.',
    'Wall time runs from the call to runBatch to its end: for Kafka it includes connecting, joining the group,',
    'fetching the end offsets and the last commit. "first write" is when the first result batch was written;',
    '"steady" is the rate after it (start-up excluded).',
    '',
    '| path | records | wall s | records/s | ÷ ceiling | first write s | steady records/s | call latency p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|',
    ...d.paths.map(
      (p) =>
        `| ${p.path} | ${p.written} | ${p.wallS.toFixed(2)} | ${p.perSecond.toFixed(0)} | ${(p.perSecond / d.ceiling).toFixed(2)} | ${p.firstWriteS.toFixed(2)} | ${p.steadyPerSecond.toFixed(0)} | ${p.latencyP50Ms.toFixed(0)} / ${p.latencyP99Ms.toFixed(0)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '20000' },
      partitions: { type: 'string', default: '6' },
      concurrency: { type: 'string', default: '64' },
      'latency-ms': { type: 'string', default: '20' },
    },
  });
  const n = Number(values.records);
  const partitions = Number(values.partitions);
  const concurrency = Number(values.concurrency);
  const latencyMs = Number(values['latency-ms']);
  const loadStart = (await import('node:os')).loadavg()[0]!;
  const started = new Date().toISOString();

  const external = process.env.KAFKA_BOOTSTRAP || undefined;
  const bootstrap =
    external ?? execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { encoding: 'utf8' }).trim();
  const emulator = await EmulatorProcess.start(join(root, 'bench/out/dist/emulator-server.js'), [
    '--latency',
    `fixed:${latencyMs}`,
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'dify-batch-kafka-bench-'));
  try {
    const records = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, text: `record ${i}` }));
    const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const suffix = Date.now().toString(36);
    const input = `bench-in-${suffix}`;
    const output = `bench-out-${suffix}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: partitions },
        { topic: output, numPartitions: partitions },
      ],
      waitForLeaders: true,
    });
    // Idempotent: a retried send on a fresh broker would otherwise duplicate inputs.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < n; i += 1000) {
      await producer.send({
        topic: input,
        messages: records.slice(i, i + 1000).map((r) => ({ key: r.id, value: JSON.stringify(r) })),
      });
    }
    await producer.disconnect();
    const inputFile = join(dir, 'in.ndjson');
    writeFileSync(inputFile, records.map((r) => JSON.stringify(r)).join('\n'));

    const common = {
      dify: { baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
      app: 'workflow' as const,
      concurrency,
      idField: 'id',
    };
    const results: PathResult[] = [];
    {
      const started = performance.now();
      const first = firstWrite(started);
      const summary = await runBatch({
        ...common,
        source: fromFile(inputFile, { idField: 'id' }),
        sink: toFile(join(dir, 'out.ndjson')),
        onProgress: first.onProgress,
      });
      results.push({ path: 'file → file', summary, wallMs: performance.now() - started, first: first.get() });
    }
    {
      const started = performance.now();
      const first = firstWrite(started);
      const groupId = `bench-${suffix}`;
      const source = fromKafka({
        brokers: [bootstrap],
        groupId,
        topics: [input],
        idField: 'id',
        stopAtEnd: true,
      });
      const summary = await runBatch({
        ...common,
        source,
        sink: toKafka({ brokers: [bootstrap], topic: output, origin: source }),
        onProgress: first.onProgress,
      }).finally(() => source.close());
      results.push({
        path: 'kafka → kafka',
        summary,
        wallMs: performance.now() - started,
        first: first.get(),
      });
      const produced = (await admin.fetchTopicOffsets(output)).reduce((sum, p) => sum + Number(p.high), 0);
      const inputs = (await admin.fetchTopicOffsets(input)).reduce((sum, p) => sum + Number(p.high), 0);
      if (produced !== n || inputs !== n)
        throw new Error(`${inputs} inputs and ${produced} results on the topics, expected ${n} of each`);
    }
    await admin.disconnect();

    const ceiling = (concurrency * 1000) / latencyMs;
    const paths = results.map((r) => ({
      path: r.path,
      written: r.summary.written,
      wallS: r.wallMs / 1000,
      perSecond: (r.summary.written * 1000) / r.wallMs,
      firstWriteS: r.first.atMs / 1000,
      steadyPerSecond: ((r.summary.written - r.first.written) * 1000) / (r.wallMs - r.first.atMs),
      latencyP50Ms: r.summary.latencyMs.p50,
      latencyP99Ms: r.summary.latencyMs.p99,
    }));
    const data: KafkaBenchData = { records: n, partitions, concurrency, latencyMs, ceiling, paths };
    const run: SideRun = {
      name: 'kafka',
      command: `npm run bench:kafka${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      date: started,
      machine: machineInfo(loadStart),
      node: process.version,
      body: renderKafkaBody(data),
      data,
    };
    writeSideRun(root, run);
    process.stdout.write(
      `${renderSideRun(run)}\nwrote bench/out/kafka.json and the Kafka section of bench/RESULTS.md\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await emulator.close();
    if (external === undefined) execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'stop']);
  }
}

main().then(
  () => {
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`bench:kafka failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
