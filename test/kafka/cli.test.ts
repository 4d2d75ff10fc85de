import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { kafkaTestKit, type OutMessage } from './kafkaTestKit.js';

const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const kit = kafkaTestKit();
let emulator: Emulator;

beforeAll(async () => {
  // A fixed per-call latency, so a run takes long enough to be interrupted or joined mid-way.
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 15 } });
});
afterAll(async () => {
  await emulator.close();
});

interface Cli {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  readonly stderr: () => string;
}

/** `dify-batch run` as a real process (the built CLI), against the emulator. */
function runCli(args: readonly string[]): Cli {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'run', ...args, '--no-progress'], {
    env: { ...process.env, DIFY_BASE_URL: emulator.url, DIFY_API_KEY: WORKFLOW_KEY },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

async function totalMessages(topic: string): Promise<number> {
  let sum = 0;
  for (const end of (await kit.endOffsets(topic)).values()) sum += end;
  return sum;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function inputs(partitions: number, n: number) {
  const topic = await kit.createTopic(partitions, 'in');
  const records = Array.from({ length: n }, (_, i) => ({
    key: `r${i}`,
    partition: i % partitions,
    value: JSON.stringify({ id: `r${i}`, text: `record ${i}` }),
  }));
  await kit.produce(topic, records);
  return { topic, records };
}

/** Every input has a result; duplicates are the same result (id, ok, outputs); returns the duplicate count. */
function checkResults(
  results: readonly OutMessage[],
  records: readonly { key: string; value: string }[],
): number {
  const byKey = new Map<string, OutMessage[]>();
  for (const m of results) byKey.set(m.key!, [...(byKey.get(m.key!) ?? []), m]);
  let duplicates = 0;
  for (const record of records) {
    const found = byKey.get(record.key);
    expect(found, `no result for ${record.key}`).toBeDefined();
    const first = found![0]!.value;
    expect(first).toMatchObject({ id: record.key, ok: true });
    expect(first.outputs).toEqual(emulatedOutputs('workflow', JSON.parse(record.value)));
    for (const other of found!.slice(1)) {
      duplicates++;
      expect({ id: other.value.id, ok: other.value.ok, outputs: other.value.outputs }).toEqual({
        id: first.id,
        ok: first.ok,
        outputs: first.outputs,
      });
    }
  }
  expect(byKey.size).toBe(records.length);
  return duplicates;
}

describe('dify-batch run with kafka:// input and output (real processes, real broker)', () => {
  it('a consumer killed with SIGKILL mid-run and restarted: no input without a result, duplicates only in flight and identical', async () => {
    const n = 2000;
    const { topic, records } = await inputs(4, n);
    const output = await kit.createTopic(4, 'out');
    const group = kit.unique('group');
    const args = [
      '--input',
      `kafka://${kit.bootstrap}/${topic}?group=${group}`,
      '--output',
      `kafka://${kit.bootstrap}/${output}`,
      '--id-field',
      'id',
      '-c',
      '8',
      '--window',
      '64',
      '--stop-at-end',
    ];
    const first = runCli(args);
    await waitFor(async () => (await totalMessages(output)) >= 400);
    first.child.kill('SIGKILL');
    await first.exit;
    const before = await totalMessages(output);
    expect(before).toBeLessThan(n);

    const second = runCli(args);
    expect(await second.exit, second.stderr()).toBe(0);
    const results = await kit.readTopic(output, n);
    const duplicates = checkResults(results, records);
    // Only what was in flight at the kill (read, not yet committed) is produced twice: at most the window.
    expect(duplicates).toBeLessThanOrEqual(64);
    expect(await kit.committedOffsets(group, topic)).toEqual(await kit.endOffsets(topic));
  });

  it('two consumers in one group and a third joining mid-run share the partitions; nothing is lost', async () => {
    const n = 3000;
    const { topic, records } = await inputs(6, n);
    const output = await kit.createTopic(3, 'out');
    const errors = await kit.createTopic(1, 'err');
    const group = kit.unique('group');
    const args = [
      '--input',
      `kafka://${kit.bootstrap}/${topic}?group=${group}`,
      '--output',
      `kafka://${kit.bootstrap}/${output}`,
      '--errors',
      `kafka://${kit.bootstrap}/${errors}`,
      '--id-field',
      'id',
      '-c',
      '4',
      '--stop-at-end',
    ];
    const a = runCli(args);
    const b = runCli(args);
    await waitFor(async () => (await totalMessages(output)) >= 600);
    const c = runCli(args);
    const codes = await Promise.all([a.exit, b.exit, c.exit]);
    expect(codes, `${a.stderr()}\n${b.stderr()}\n${c.stderr()}`).toEqual([0, 0, 0]);
    // Nothing lost: one result (or identical duplicates) per input, offsets committed to the end.
    const results = await kit.readTopic(output, n);
    checkResults(results, records);
    expect(await kit.committedOffsets(group, topic)).toEqual(await kit.endOffsets(topic));
    expect(await totalMessages(errors)).toBe(0);
    // Every instance got a share of the partitions (the third only after a rebalance).
    const done = [a, b, c].map((p) => Number(/done: (\d+) records/.exec(p.stderr())?.[1] ?? Number.NaN));
    for (const count of done) expect(count).toBeGreaterThan(0);
  });

  it('without --stop-at-end it runs until SIGTERM, then finishes what was read, commits and exits 143', async () => {
    const n = 500;
    const { topic, records } = await inputs(2, n);
    const output = await kit.createTopic(1, 'out');
    const group = kit.unique('group');
    const cli = runCli([
      '--input',
      `kafka://${kit.bootstrap}/${topic}?group=${group}`,
      '--output',
      `kafka://${kit.bootstrap}/${output}`,
      '--id-field',
      'id',
    ]);
    await waitFor(async () => (await totalMessages(output)) >= n);
    // Still running: it waits for more messages until told to stop.
    await new Promise((r) => setTimeout(r, 500));
    expect(cli.child.exitCode).toBeNull();
    cli.child.kill('SIGTERM');
    // 143: stopped by SIGTERM after finishing and committing what was read (the reliability issue's exit codes).
    expect(await cli.exit, cli.stderr()).toBe(143);
    expect(cli.stderr()).toMatch(/interrupted \(SIGTERM\)/);
    checkResults(await kit.readTopic(output, n), records);
    expect(await kit.committedOffsets(group, topic)).toEqual(await kit.endOffsets(topic));
  });
});
