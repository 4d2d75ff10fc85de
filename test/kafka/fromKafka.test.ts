import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { runBatch } from '../../src/pipeline/runBatch.js';
import { toKafka } from '../../src/sinks/toKafka.js';
import { toKafkaDeadLetter } from '../../src/sinks/toKafkaDeadLetter.js';
import { fromKafka } from '../../src/sources/fromKafka.js';
import { kafkaTestKit } from './kafkaTestKit.js';

const WORKFLOW_KEY = EMULATOR_DEFAULT_APPS.find((a) => a.mode === 'workflow')!.key;
const kit = kafkaTestKit();
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'uniform', minMs: 0, maxMs: 5 } });
});
afterAll(async () => {
  await emulator.close();
});

describe('fromKafka → runBatch → toKafka against a real broker', () => {
  it('one result per input, keyed by the input key, partition order kept, offsets committed to the end', async () => {
    const partitions = 4;
    const n = 1200;
    const input = await kit.createTopic(partitions, 'in');
    const output = await kit.createTopic(3, 'out');
    const errors = await kit.createTopic(1, 'err');
    const records = Array.from({ length: n }, (_, i) => ({
      key: `k${i}`,
      partition: i % partitions,
      // Every 100th record is not JSON: a failed result and a dead letter, the run goes on.
      value: i % 100 === 7 ? `not json ${i}` : JSON.stringify({ id: `r${i}`, text: `hello ${i}` }),
    }));
    await kit.produce(input, records);
    const groupId = kit.unique('group');
    const source = fromKafka({
      brokers: [kit.bootstrap],
      groupId,
      topics: [input],
      idField: 'id',
      stopAtEnd: true,
      bufferSize: 50,
    });
    const sink = toKafka({ brokers: [kit.bootstrap], topic: output, origin: source });
    const deadLetter = toKafkaDeadLetter({ brokers: [kit.bootstrap], topic: errors, origin: source });
    const summary = await runBatch({
      source,
      sink,
      deadLetter,
      dify: { baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
      app: 'workflow',
      concurrency: 8,
      window: 64,
    });
    await source.close();
    expect(summary.written).toBe(n);
    expect(summary.failed).toBe(12);

    const results = await kit.readTopic(output, n);
    expect(results).toHaveLength(n);
    const byKey = new Map(results.map((m) => [m.key, m]));
    expect(byKey.size).toBe(n);
    for (const [i, record] of records.entries()) {
      const message = byKey.get(record.key)!;
      expect(message, record.key).toBeDefined();
      if (i % 100 === 7) {
        expect(message.value.ok).toBe(false);
        expect((message.value.error as { message: string }).message).toMatch(
          new RegExp(`${input}:${i % partitions}@\\d+`),
        );
      } else {
        expect(message.value).toMatchObject({ id: `r${i}`, ok: true });
        expect(message.value.outputs).toEqual(emulatedOutputs('workflow', JSON.parse(record.value)));
      }
    }
    // Per input partition, results appear in input order on every output partition.
    for (let out = 0; out < 3; out++) {
      const seen = new Map<number, number>();
      for (const m of results.filter((r) => r.partition === out).sort((a, b) => a.offset - b.offset)) {
        const i = Number(m.key!.slice(1));
        const inPartition = i % partitions;
        expect(i).toBeGreaterThan(seen.get(inPartition) ?? -1);
        seen.set(inPartition, i);
      }
    }
    const dead = await kit.readTopic(errors, 12);
    expect(dead.map((d) => d.value._raw).sort()).toEqual(
      records
        .filter((_, i) => i % 100 === 7)
        .map((r) => r.value)
        .sort(),
    );
    expect(await kit.committedOffsets(groupId, input)).toEqual(await kit.endOffsets(input));
  });

  it('a slow sink pauses fetching: at most bufferSize + window records are held while the topic has many more', async () => {
    const input = await kit.createTopic(2, 'slow');
    const n = 3000;
    await kit.produce(
      input,
      Array.from({ length: n }, (_, i) => ({ key: `k${i}`, partition: i % 2, value: JSON.stringify({ i }) })),
    );
    const groupId = kit.unique('group');
    const source = fromKafka({ brokers: [kit.bootstrap], groupId, topics: [input], bufferSize: 40 });
    let written = 0;
    const drain = new AbortController();
    const run = runBatch({
      source,
      sink: {
        write: async (batch) => {
          await new Promise((r) => setTimeout(r, 20));
          written += batch.length;
          if (written >= 600) drain.abort();
        },
        close: async () => {},
      },
      transport: async () => ({ outputs: {} }),
      app: 'workflow',
      concurrency: 4,
      window: 32,
      batch: { size: 8 },
      drainSignal: drain.signal,
    });
    const summary = await run;
    await source.close();
    expect(written).toBeGreaterThanOrEqual(600);
    expect(written).toBeLessThan(n);
    // The gate held at most `window` records; the source's buffer never went past bufferSize, and
    // fetching had to pause again and again since the topic holds far more than both.
    expect(summary.peakOutstanding).toBeLessThanOrEqual(32);
    expect(source.readAhead.peakBuffered).toBeLessThanOrEqual(40);
    expect(source.readAhead.pauses).toBeGreaterThan(5);
    // What was written is committed, nothing more.
    const committed = await kit.committedOffsets(groupId, input);
    expect([...committed.values()].reduce((a, b) => a + Math.max(b, 0), 0)).toBe(written);
  });

  it('maps values: text values into a field, the key into a field, and names the offset of a bad message', async () => {
    const input = await kit.createTopic(1, 'text');
    await kit.produce(input, [
      { key: 'a', value: 'first line' },
      { key: 'b', value: null },
      { key: 'c', value: 'third' },
    ]);
    const text = fromKafka({
      brokers: [kit.bootstrap],
      groupId: kit.unique('group'),
      topics: [input],
      valueFormat: 'text',
      textField: 'query',
      keyField: 'key',
      stopAtEnd: true,
    });
    const items = [];
    // With stopAtEnd the iteration ends once the group committed up to the end: commit as we go.
    for await (const item of text) {
      items.push(item);
      await text.commit([{ partition: `${input}:0`, seq: item.seq, position: item.position, count: 1 }]);
    }
    await text.close();
    expect(items.map((i) => [i.seq, i.id, i.inputs, i.position])).toEqual([
      [0, 'a', { query: 'first line', key: 'a' }, { partition: `${input}:0`, offset: 0 }],
      [1, 'b', { query: '', key: 'b' }, { partition: `${input}:0`, offset: 1 }],
      [2, 'c', { query: 'third', key: 'c' }, { partition: `${input}:0`, offset: 2 }],
    ]);

    const json = fromKafka({
      brokers: [kit.bootstrap],
      groupId: kit.unique('group'),
      topics: [input],
      stopAtEnd: true,
    });
    const parsed = [];
    for await (const item of json) {
      parsed.push(item);
      await json.commit([{ partition: `${input}:0`, seq: item.seq, position: item.position, count: 1 }]);
    }
    await json.close();
    expect(parsed.map((i) => i.error?.message)).toEqual([
      expect.stringMatching(new RegExp(`^${input}:0@0: .*JSON`)),
      `${input}:0@1: the message has no value (a tombstone)`,
      expect.stringMatching(new RegExp(`^${input}:0@2: `)),
    ]);
    expect(parsed[0]!.inputs).toEqual({ _raw: 'first line' });
  });

  it('stopAtEnd: a member done with its own partitions stays in the group until every partition is committed, and reads one handed to it late', async () => {
    const input = await kit.createTopic(2, 'late');
    const output = await kit.createTopic(1, 'out');
    const perPartition = 150;
    const records = Array.from({ length: 2 * perPartition }, (_, i) => ({
      key: `k${i}`,
      partition: i % 2,
      value: JSON.stringify({ id: `r${i}`, text: `late ${i}` }),
    }));
    await kit.produce(input, records);
    const groupId = kit.unique('group');
    const options = { brokers: [kit.bootstrap], groupId, topics: [input], idField: 'id', stopAtEnd: true };
    // B joins first and takes both partitions; it reads a few records and never commits (a stuck member).
    const stuck = fromKafka({ ...options, bufferSize: 10 });
    const stuckItems = stuck[Symbol.asyncIterator]();
    const firstOfStuck = await stuckItems.next();
    expect(firstOfStuck.done).toBe(false);
    // A joins: the rebalance splits the partitions; A finishes its own quickly.
    const member = fromKafka(options);
    let settled = false;
    const run = runBatch({
      source: member,
      sink: toKafka({ brokers: [kit.bootstrap], topic: output, origin: member }),
      dify: { baseUrl: emulator.url, apiKey: WORKFLOW_KEY },
      app: 'workflow',
      concurrency: 8,
    }).finally(() => {
      settled = true;
    });
    const until = Date.now() + 30_000;
    while (member.share.committed < perPartition && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect(member.share.committed).toBe(perPartition);
    // A's own partition is done, the other one is not: A must not stop (the old per-member rule did,
    // leaving B's partition to nobody once B left too).
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled).toBe(false);
    // B leaves without committing: the rebalance hands its partition to A, which reads it all.
    await stuck.close();
    const summary = await run;
    await member.close();
    expect(summary.failed).toBe(0);
    expect(member.share).toEqual({ committed: 2 * perPartition, handedOver: 0 });
    const results = await kit.readTopic(output, records.length);
    expect(new Set(results.map((m) => m.key))).toEqual(new Set(records.map((r) => r.key)));
    expect(results).toHaveLength(records.length);
    expect(await kit.committedOffsets(groupId, input)).toEqual(await kit.endOffsets(input));
  });
});
