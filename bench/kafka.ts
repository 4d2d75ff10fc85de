/**
 * `npm run bench:kafka`: end-to-end throughput of the Kafka path (fromKafka → Dify calls → toKafka)
 * against the file path (fromFile → Dify calls → toFile) at the same concurrency, both against the
 * emulator (own process) at a fixed latency. Starts the test broker (scripts/kafka.sh) unless
 * KAFKA_BOOTSTRAP names one, and writes the "Kafka" section of bench/RESULTS.md.
 *
 * Flags: --records N (20000), --partitions P (6), --concurrency C (64), --latency-ms MS (20).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { replaceKafkaSection } from './kafkaSection.js';

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

    const machine = machineInfo(loadStart);
    const ceiling = (concurrency * 1000) / latencyMs;
    const rows = results.map((r) => {
      const rate = (r.summary.written * 1000) / r.wallMs;
      const steady = ((r.summary.written - r.first.written) * 1000) / (r.wallMs - r.first.atMs);
      return `| ${r.path} | ${r.summary.written} | ${(r.wallMs / 1000).toFixed(2)} | ${rate.toFixed(0)} | ${(rate / ceiling).toFixed(2)} | ${(r.first.atMs / 1000).toFixed(2)} | ${steady.toFixed(0)} | ${r.summary.latencyMs.p50.toFixed(0)} / ${r.summary.latencyMs.p99.toFixed(0)} |`;
    });
    const section = [
      '## Kafka',
      '',
      `Generated by \`npm run bench:kafka\` on ${new Date().toISOString()}: ${n} records, ${partitions} input partitions,`,
      `concurrency ${concurrency} (window ${16 * concurrency}), emulator (own process) at a fixed ${latencyMs} ms per call, so the`,
      `ceiling is concurrency ÷ latency = ${ceiling.toFixed(0)} records/s. Broker: Apache Kafka 4.1.2 (single node, KRaft,`,
      'scripts/kafka.sh) on the same machine; client kafkajs 2.2.4; output acks=all from an idempotent producer.',
      `Machine: ${machine.cpu} × ${machine.cores}, ${machine.totalMemGb} GB, ${machine.os}, Node ${process.version};`,
      `load average ${machine.loadAvgStart.toFixed(2)} → ${machine.loadAvgEnd.toFixed(2)} (other jobs share it).`,
      'Wall time runs from the call to runBatch to its end: for Kafka it includes connecting, joining the group,',
      'fetching the end offsets and the last commit. "first write" is when the first result batch was written;',
      '"steady" is the rate after it (start-up excluded).',
      '',
      '| path | records | wall s | records/s | ÷ ceiling | first write s | steady records/s | call latency p50 / p99 ms |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
    const path = join(root, 'bench', 'RESULTS.md');
    const previous = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
    writeFileSync(path, replaceKafkaSection(previous, section));
    process.stdout.write(`${section}\nwrote the Kafka section of bench/RESULTS.md\n`);
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
