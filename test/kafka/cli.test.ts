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

/** The topics and consumer group of one run: `n` records over `partitions` input partitions, empty outputs. */
interface Scenario {
  readonly topic: string;
  readonly records: readonly { key: string; value: string }[];
  readonly output: string;
  readonly errors: string | undefined;
  readonly group: string;
}

async function scenario(
  n: number,
  partitions: number,
  outputPartitions: number,
  withErrors = false,
): Promise<Scenario> {
  const { topic, records } = await inputs(partitions, n);
  const output = await kit.createTopic(outputPartitions, 'out');
  const errors = withErrors ? await kit.createTopic(1, 'err') : undefined;
  return { topic, records, output, errors, group: kit.unique('group') };
}

/** `run` flags reading the scenario's input as its group into its output (and errors), ids from `id`, then `extra`. */
function kafkaArgs(s: Scenario, extra: readonly string[] = []): string[] {
  return [
    '--input',
    `kafka://${kit.bootstrap}/${s.topic}?group=${s.group}`,
    '--output',
    `kafka://${kit.bootstrap}/${s.output}`,
    ...(s.errors === undefined ? [] : ['--errors', `kafka://${kit.bootstrap}/${s.errors}`]),
    '--id-field',
    'id',
    ...extra,
  ];
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

/** What one instance's report says: results written, input offsets committed by it. */
function shareOf(stderr: string): { written: number; committed: number } {
  const written = /done: (\d+) records|, (\d+) written \(/.exec(stderr);
  const committed = /kafka: committed the offsets of (\d+) records/.exec(stderr);
  expect(written, stderr).not.toBeNull();
  expect(committed, stderr).not.toBeNull();
  return { written: Number(written![1] ?? written![2]), committed: Number(committed![1]) };
}

/**
 * A randomised schedule: a PRNG seeded from DIFY_BATCH_KAFKA_SEED, or a fresh seed, and `why`, the line
 * that names the seed (printed on failure, so the schedule can be replayed).
 */
function randomSchedule(): { readonly random: () => number; readonly why: string } {
  const fixed = process.env.DIFY_BATCH_KAFKA_SEED;
  const seed = fixed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fixed);
  return { random: seeded(seed), why: `seed ${seed} (DIFY_BATCH_KAFKA_SEED reruns it)` };
}

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('dify-batch run with kafka:// input and output (real processes, real broker)', () => {
  it('a consumer killed with SIGKILL mid-run and restarted: no input without a result, duplicates only in flight and identical', async () => {
    const n = 2000;
    const setup = await scenario(n, 4, 4);
    const { topic, records, output, group } = setup;
    const args = kafkaArgs(setup, ['-c', '8', '--window', '64', '--stop-at-end']);
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

  it('instances join and leave (SIGTERM) at random points: nothing lost, and each input offset is committed by exactly one instance', async () => {
    const { random, why } = randomSchedule();
    const n = 2400;
    const window = 32;
    const setup = await scenario(n, 6, 3, true);
    const { topic, records, output, group } = setup;
    const errors = setup.errors!;
    const args = kafkaArgs(setup, ['-c', '4', '--window', String(window), '--stop-at-end']);
    const a = runCli(args);
    const b = runCli(args);
    // A third instance joins, then one of the first two leaves (SIGTERM: finishes what it read, commits,
    // exits 143), each at a random point of the run: every one of them moves partitions mid-flight.
    const joinAt = Math.floor(n * (0.1 + 0.3 * random()));
    const leaveAt = Math.floor(joinAt + n * (0.05 + 0.3 * random()));
    const [leaver, stayer] = random() < 0.5 ? [a, b] : [b, a];
    await waitFor(async () => (await totalMessages(output)) >= joinAt);
    const c = runCli(args);
    await waitFor(async () => (await totalMessages(output)) >= leaveAt || stayer.child.exitCode !== null);
    leaver.child.kill('SIGTERM');
    const [leaverCode, ...codes] = await Promise.all([leaver.exit, stayer.exit, c.exit]);
    const stderrs = `${why}\n${a.stderr()}\n${b.stderr()}\n${c.stderr()}`;
    expect(codes, stderrs).toEqual([0, 0]);
    // The leaver may have finished before the signal arrived (then 0), or stopped on it (143).
    expect([0, 143], stderrs).toContain(leaverCode);
    // Nothing lost: one result (or identical duplicates) per input, offsets committed to the end.
    const results = await kit.readTopic(output, n);
    const duplicates = checkResults(results, records);
    // Only results written and not yet committed when a rebalance moved their partition are written
    // twice: at most a window per instance per rebalance (the join, the leave, the two leaves at the end).
    expect(duplicates, stderrs).toBeLessThanOrEqual(window * 3 * 4);
    expect(await kit.committedOffsets(group, topic)).toEqual(await kit.endOffsets(topic));
    expect(await totalMessages(errors)).toBe(0);
    // Each instance's report is unambiguous: `written` counts results written here, including those a
    // rebalance handed over before their commit (written again by their new owner), so the sum is at
    // least the inputs; every input offset is committed by exactly one instance, so those sum to n.
    const shares = [a, b, c].map((p) => shareOf(p.stderr()));
    expect(
      shares.reduce((sum, s) => sum + s.committed, 0),
      stderrs,
    ).toBe(n);
    expect(
      shares.reduce((sum, s) => sum + s.written, 0),
      stderrs,
    ).toBeGreaterThanOrEqual(n);
    // The instance that joined got a share of the partitions.
    expect(shares[2]!.committed, stderrs).toBeGreaterThan(0);
    console.info(
      `${why}: join at ${joinAt}, leave at ${leaveAt} (exit ${leaverCode}); duplicates ${duplicates}; written/committed per instance ${shares.map((x) => `${x.written}/${x.committed}`).join(', ')}`,
    );
  });

  it('one of two instances killed with SIGKILL at a random point: the survivor waits for its partitions, reads them, and exits 0 with nothing lost', async () => {
    const { random, why } = randomSchedule();
    const n = 1800;
    const window = 32;
    const setup = await scenario(n, 6, 3);
    const { topic, records, output, group } = setup;
    const args = kafkaArgs(setup, ['-c', '4', '--window', String(window), '--stop-at-end']);
    // Two members: once one is killed, no rebalance happens until its session expires (10 s), and the
    // survivor reaches the end of its own partitions long before that. The old per-member rule exited 0
    // right there, leaving the victim's partitions to nobody.
    const members = [runCli(args), runCli(args)];
    const killAt = Math.floor(n * (0.15 + 0.3 * random()));
    const victim = members.splice(Math.floor(random() * members.length), 1)[0]!;
    await waitFor(async () => (await totalMessages(output)) >= killAt);
    victim.child.kill('SIGKILL');
    await victim.exit;
    const killedOutput = await totalMessages(output);
    // The survivor must stay until the victim's partitions are handed to it and done.
    const codes = await Promise.all(members.map((m) => m.exit));
    const stderrs = `${why}\n${members.map((m) => m.stderr()).join('\n')}`;
    expect(codes, stderrs).toEqual([0]);
    const results = await kit.readTopic(output, n);
    const duplicates = checkResults(results, records);
    // Only the victim's written-but-uncommitted results: at most its window.
    expect(duplicates, stderrs).toBeLessThanOrEqual(window);
    expect(await kit.committedOffsets(group, topic)).toEqual(await kit.endOffsets(topic));
    // The survivor committed everything the victim had not: the victim's results written before the kill
    // number at least what it committed, so the survivor's committed + the victim's output ≥ n.
    const survivor = shareOf(members[0]!.stderr());
    console.info(
      `${why}: killed at ${killAt} (${killedOutput} results out); duplicates ${duplicates}; survivor wrote ${survivor.written}, committed ${survivor.committed}`,
    );
    expect(survivor.committed + Math.min(killedOutput, n), stderrs).toBeGreaterThanOrEqual(n);
  });

  it('without --stop-at-end it runs until SIGTERM, then finishes what was read, commits and exits 143', async () => {
    const n = 500;
    const setup = await scenario(n, 2, 1);
    const { topic, records, output, group } = setup;
    const cli = runCli(kafkaArgs(setup));
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
