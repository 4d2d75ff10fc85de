import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import { DifyBatchError } from '../core/DifyBatchError.js';
import type { ErrorRecord, Item } from '../core/Item.js';
import { checkInteger, checkOneOf, checkOption, checkString } from '../internal/checkOption.js';
import type { Watermark } from '../pipeline/AckWatermark.js';
import type { CommittableSource } from './CommittableSource.js';
import { checkKafkaConnection, type KafkaConnection } from './kafka/KafkaConnection.js';
import type { KafkaRecordOrigin } from './kafka/KafkaRecordOrigin.js';
import { loadKafkaJs } from './kafka/loadKafkaJs.js';

/**
 * Options of {@link fromKafka}.
 * @category sources
 */
export interface FromKafkaOptions extends KafkaConnection {
  /** The consumer group: instances with the same group share the topics' partitions. */
  readonly groupId: string;
  /** Topics to consume. */
  readonly topics: readonly string[];
  /**
   * How a message value becomes a record: `'json'` parses one JSON object (like one NDJSON line);
   * `'text'` takes the UTF-8 value as the string field `textField`.
   * @defaultValue `'json'`
   */
  readonly valueFormat?: 'json' | 'text' | undefined;
  /** The field that holds a `'text'` value. @defaultValue `'text'` */
  readonly textField?: string | undefined;
  /** Also put the message key (UTF-8) in the record under this field. @defaultValue `undefined` */
  readonly keyField?: string | undefined;
  /**
   * The record field that holds its id. When unset, `item.id` is the message key (UTF-8), or
   * `String(seq)` for a message without key. A record without it becomes an ERR_SOURCE_PARSE item.
   * @defaultValue `undefined`
   */
  readonly idField?: string | undefined;
  /**
   * End the iteration once the group is done: every partition assigned to this consumer has been read
   * up to the end offset it had when assigned, and the group's committed offset of every partition of
   * the topics has reached the end offset it had when this consumer started (the run then writes and
   * commits the rest, and ends). Until then the consumer stays in the group and reads whatever a
   * rebalance assigns to it, so a partition handed over late is never left without a reader.
   * @defaultValue `false` (run until aborted)
   */
  readonly stopAtEnd?: boolean | undefined;
  /**
   * With `stopAtEnd`, how often the group's committed offsets are read while this consumer waits for
   * other members to finish their partitions.
   * @defaultValue `250`
   */
  readonly groupPollMs?: number | undefined;
  /**
   * Messages fetched and not yet pulled, at most: when full, fetching is paused until half of it
   * has been pulled. With the credit gate in front, memory stays O(bufferSize + window).
   * @defaultValue `500`
   */
  readonly bufferSize?: number | undefined;
  /** A group member that sends no heartbeat for this long is removed from the group. @defaultValue `10000` */
  readonly sessionTimeoutMs?: number | undefined;
  /**
   * Longest a fetch waits at the broker for new messages; also how long the client idles while every
   * partition is paused, so it bounds how soon fetching resumes after the buffer drained.
   * @defaultValue `200`
   */
  readonly maxWaitMs?: number | undefined;
  /** Stops consuming: pending and later pulls reject with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
}

/** The defaults of {@link FromKafkaOptions}. */
export const FROM_KAFKA_DEFAULTS = Object.freeze({
  valueFormat: 'json' as const,
  textField: 'text',
  stopAtEnd: false,
  bufferSize: 500,
  sessionTimeoutMs: 10_000,
  maxWaitMs: 200,
  groupPollMs: 250,
});

/**
 * A Kafka consumer-group source: a {@link CommittableSource} (offsets committed from the acknowledgement
 * watermark) and a {@link KafkaRecordOrigin} (keys and ownership for Kafka sinks).
 * @category sources
 */
export interface KafkaSource extends CommittableSource<Item>, KafkaRecordOrigin {
  /** Leaves the group and closes the connections. Call it after the run (idempotent). */
  close(): Promise<void>;
  /** Read-ahead so far: messages buffered now, the most ever buffered, and how often fetching paused. */
  readonly readAhead: { readonly buffered: number; readonly peakBuffered: number; readonly pauses: number };
  /** What this group member did with the records it yielded; see {@link KafkaGroupShare}. */
  readonly share: KafkaGroupShare;
}

/**
 * One group member's share of the work. Its records written (`runBatch`'s `written`) also count results
 * of partitions that a rebalance moved away before their offsets were committed: the new owner reads and
 * writes those again, so summing `written` over members double-counts them. `committed` does not: every
 * input offset is committed by exactly one member, so the members' `committed` sum to the records
 * consumed by the group.
 * @category sources
 */
export interface KafkaGroupShare {
  /** Records whose offsets this member committed (their results were acknowledged by the sinks first). */
  readonly committed: number;
  /** Records yielded, then handed to another member by a rebalance before their offsets were committed. */
  readonly handedOver: number;
}

interface Owned {
  /** Bumped on each assignment, so records read under an earlier one are recognised as stale. */
  readonly epoch: number;
  /** The offset after the last message read (or the start position); -1 while unknown. */
  next: number;
  /** The end offset when assigned (stopAtEnd only); undefined until fetched. */
  end: number | undefined;
}

interface Buffered {
  readonly tp: string;
  readonly epoch: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

interface Ref {
  readonly tp: string;
  readonly epoch: number;
  readonly offset: number;
  readonly key: Buffer | null;
}

/**
 * Errors after which a commit is retried once the group settles (a rebalance, a moved coordinator).
 * kafkajs keeps the protocol error's `type` only when it does not wrap the error, so its messages
 * (kafkajs src/protocol/error.js) are matched too.
 */
const REJOIN_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
  'The group is rebalancing, so a rejoin is needed',
  'Specified group generation id is not valid',
  'The coordinator is not aware of this member',
  'This is not the correct coordinator for this group',
  'The group coordinator is not available',
]);

function isRejoinError(error: unknown): boolean {
  const { type, message } = (error ?? {}) as { type?: string; message?: string };
  return (
    (type !== undefined && REJOIN_ERRORS.has(type)) || (message !== undefined && REJOIN_ERRORS.has(message))
  );
}

/**
 * Consumes topics in a consumer group as items; offsets are committed only from the sinks'
 * acknowledgement watermark, never automatically.
 *
 * @remarks
 * - Order: messages of one partition are yielded in offset order; partitions interleave. `seq` is
 *   dense over the whole source; `position` is `{ partition: 'topic:partition', offset }`.
 * - Commit: `runBatch` calls `commit` with each partition's watermark; the committed offset is the
 *   watermark message's offset + 1 (Kafka's "next to read"). Nothing is committed for a message
 *   whose result was not written, so a crash re-delivers at most the in-flight window (at-least-once).
 * - Backpressure: fetched messages wait in a buffer of `bufferSize`; when it is full the consumer
 *   pauses fetching and resumes once the pipeline (one pull per credit) has drained half of it.
 * - Rebalances: a revoked partition's buffered messages are dropped and its in-flight records become
 *   stale (`recordOf(seq).current === false`): Kafka sinks drop their results and their watermark is
 *   never committed — the new owner resumes from the last committed offset. A partition kept across a
 *   rebalance is not read twice.
 * - Value errors (not JSON, not an object, missing id field) become ERR_SOURCE_PARSE items naming
 *   `topic:partition@offset`; the run goes on.
 *
 * @param options - Brokers, group, topics, value mapping and limits.
 * @returns A single-use {@link KafkaSource}; call `close()` after the run.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) synchronously for bad options; the iterator rejects
 * with ERR_SOURCE_READ when the consumer cannot connect or crashes, `commit` with ERR_SOURCE_COMMIT.
 * @example
 * ```ts
 * import { fromKafka, toKafka, runBatch } from 'dify-batch';
 * const source = fromKafka({ brokers: ['127.0.0.1:9092'], groupId: 'g', topics: ['in'], stopAtEnd: true });
 * const sink = toKafka({ brokers: ['127.0.0.1:9092'], topic: 'out', origin: source });
 * try {
 *   await runBatch({ source, sink, dify: { baseUrl, apiKey }, app: 'workflow' });
 * } finally {
 *   await source.close();
 * }
 * ```
 * @since 0.2.0
 * @category sources
 */
export function fromKafka(options: Readonly<FromKafkaOptions>): KafkaSource {
  const { brokers, clientId } = checkKafkaConnection(options);
  const groupId = checkString('groupId', options.groupId);
  const topics = options.topics;
  checkOption(
    Array.isArray(topics) && topics.length > 0 && topics.every((t) => typeof t === 'string' && t !== ''),
    'topics',
    'a non-empty array of topic names',
    topics,
  );
  const valueFormat = checkOneOf('valueFormat', options.valueFormat ?? FROM_KAFKA_DEFAULTS.valueFormat, [
    'json',
    'text',
  ]);
  const textField = options.textField ?? FROM_KAFKA_DEFAULTS.textField;
  const bufferSize = checkInteger('bufferSize', options.bufferSize ?? FROM_KAFKA_DEFAULTS.bufferSize, 1);
  const sessionTimeoutMs = checkInteger(
    'sessionTimeoutMs',
    options.sessionTimeoutMs ?? FROM_KAFKA_DEFAULTS.sessionTimeoutMs,
    1000,
  );
  for (const name of ['idField', 'keyField', 'textField'] as const) {
    if (options[name] !== undefined) checkString(name, options[name]);
  }
  const maxWaitMs = checkInteger('maxWaitMs', options.maxWaitMs ?? FROM_KAFKA_DEFAULTS.maxWaitMs, 1);
  const stopAtEnd = options.stopAtEnd ?? FROM_KAFKA_DEFAULTS.stopAtEnd;
  const groupPollMs = checkInteger('groupPollMs', options.groupPollMs ?? FROM_KAFKA_DEFAULTS.groupPollMs, 1);
  const { signal, idField, keyField } = options;
  const label = `kafka topic${topics.length > 1 ? 's' : ''} ${topics.join(',')} (group ${groupId})`;

  let consumer: Consumer | undefined;
  let admin: Admin | undefined;
  let started: Promise<void> | undefined;
  let iterated = false;
  let closed = false;
  let failure: unknown;
  let joined = false;
  let paused = false;
  let pauses = 0;
  let peakBuffered = 0;
  let epochs = 0;
  let seq = 0;
  let committedCount = 0;
  let handedOver = 0;
  // stopAtEnd: each partition's end offset when this consumer started: the group is done once its
  // committed offsets reach these.
  const targets = new Map<string, number>();
  let groupDoneAt = 0;
  const owned = new Map<string, Owned>();
  const buffer: Buffered[] = [];
  // seq → the message it came from, until its partition's watermark passes it (bounded by the window).
  const refs = new Map<number, Ref>();
  const seqsByPartition = new Map<string, number[]>();
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const fail = (error: unknown): void => {
    failure ??= error;
    notify();
  };
  const topicPartitions = () => topics.map((topic) => ({ topic }));
  const pauseFetching = (): void => {
    if (paused || consumer === undefined) return;
    paused = true;
    pauses++;
    consumer.pause(topicPartitions());
  };
  const resumeFetching = (): void => {
    if (!paused || consumer === undefined || buffer.length > bufferSize / 2) return;
    paused = false;
    consumer.resume(topicPartitions());
  };

  const eachBatch = async ({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const tp = `${batch.topic}:${batch.partition}`;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return;
      const state = owned.get(tp);
      if (state === undefined) return;
      const offset = Number(message.offset);
      // After a rebalance that kept this partition, kafkajs fetches again from the committed offset.
      if (offset < state.next) {
        resolveOffset(message.offset);
        continue;
      }
      if (buffer.length >= bufferSize) {
        // Unresolved messages are fetched again after resume, from the last resolved offset.
        pauseFetching();
        return;
      }
      buffer.push({ tp, epoch: state.epoch, offset, key: message.key, value: message.value });
      if (buffer.length > peakBuffered) peakBuffered = buffer.length;
      state.next = offset + 1;
      resolveOffset(message.offset);
      notify();
    }
  };

  const onAssignment = (assignment: Record<string, number[]>): void => {
    const assigned = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) assigned.add(`${topic}:${partition}`);
    }
    for (const [tp, { epoch }] of owned) {
      if (assigned.has(tp)) continue;
      owned.delete(tp);
      // Yielded, not committed: the new owner reads these again from the committed offset.
      for (const n of seqsByPartition.get(tp) ?? []) if (refs.get(n)?.epoch === epoch) handedOver++;
    }
    const fresh: string[] = [];
    for (const tp of assigned) {
      if (owned.has(tp)) continue;
      owned.set(tp, { epoch: ++epochs, next: -1, end: undefined });
      fresh.push(tp);
    }
    // Messages of revoked partitions are the new owner's now.
    for (let i = buffer.length - 1; i >= 0; i--) {
      const entry = buffer[i]!;
      if (owned.get(entry.tp)?.epoch !== entry.epoch) buffer.splice(i, 1);
    }
    joined = true;
    if (stopAtEnd && fresh.length > 0) {
      fetchBounds(fresh).then(notify, fail);
    }
    resumeFetching();
    notify();
  };

  /** End offsets (and start positions) of newly assigned partitions, for stopAtEnd. */
  const fetchBounds = async (fresh: readonly string[]): Promise<void> => {
    const byTopic = new Map<string, number[]>();
    for (const tp of fresh) {
      const [topic, partition] = splitTp(tp);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    }
    for (const [topic, partitions] of byTopic) {
      const [ends, commits] = await Promise.all([
        admin!.fetchTopicOffsets(topic),
        admin!.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const committed = commits[0]?.partitions ?? [];
      for (const partition of partitions) {
        const state = owned.get(`${topic}:${partition}`);
        const range = ends.find((e) => e.partition === partition);
        if (state === undefined || range === undefined) continue;
        const commit = Number(committed.find((c) => c.partition === partition)?.offset ?? -1);
        if (state.next < 0) state.next = Math.max(commit, Number(range.low));
        state.end = Number(range.high);
      }
    }
  };

  const start = async (): Promise<void> => {
    const { Kafka, logLevel } = await loadKafkaJs();
    const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
    consumer = kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeoutMs / 10)),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: maxWaitMs,
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => onAssignment(event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart) return;
      fail(
        new DifyBatchError(
          'ERR_SOURCE_READ',
          `${label}: the consumer stopped: ${event.payload.error.message}`,
          {
            cause: event.payload.error,
          },
        ),
      );
    });
    if (stopAtEnd) {
      admin = kafka.admin();
      await admin.connect();
      for (const topic of topics) {
        for (const { partition, high } of await admin.fetchTopicOffsets(topic))
          targets.set(`${topic}:${partition}`, Number(high));
      }
    }
    await consumer.connect();
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
  };

  const atEnd = (): boolean => {
    if (!joined || buffer.length > 0) return false;
    for (const state of owned.values()) {
      if (state.end === undefined || state.next < state.end) return false;
    }
    return true;
  };

  /**
   * stopAtEnd: true once the group's committed offset of every partition reached its target. Members
   * stop only then, so whichever member a rebalance hands an unfinished partition to — even one that
   * had finished its own — is still there to read it.
   */
  const groupDone = async (): Promise<boolean> => {
    for (const topic of new Set([...targets.keys()].map((tp) => splitTp(tp)[0]))) {
      const [ranges, commits] = await Promise.all([
        admin!.fetchTopicOffsets(topic),
        admin!.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const committed = commits[0]?.partitions ?? [];
      for (const { partition, low } of ranges) {
        const target = targets.get(`${topic}:${partition}`);
        if (target === undefined) continue;
        // Below the log start there is nothing left to read (retention deleted it).
        const commit = Number(committed.find((c) => c.partition === partition)?.offset ?? -1);
        if (Math.max(commit, Number(low)) < target) return false;
      }
    }
    return true;
  };

  const toItem = (entry: Buffered): Item => {
    const current = seq++;
    refs.set(current, { tp: entry.tp, epoch: entry.epoch, offset: entry.offset, key: entry.key });
    let seqs = seqsByPartition.get(entry.tp);
    if (seqs === undefined) {
      seqs = [];
      seqsByPartition.set(entry.tp, seqs);
    }
    seqs.push(current);
    const position = { partition: entry.tp, offset: entry.offset };
    const where = `${entry.tp}@${entry.offset}`;
    const key = entry.key?.toString('utf8');
    const fallbackId = key ?? String(current);
    const failed = (inputs: Record<string, unknown>, message: string): Item => {
      const error: ErrorRecord = {
        code: 'ERR_SOURCE_PARSE',
        message: `${where}: ${message}`,
        retryable: false,
      };
      return { seq: current, id: fallbackId, inputs, position, error };
    };
    const text = entry.value?.toString('utf8') ?? '';
    let inputs: Record<string, unknown>;
    if (valueFormat === 'text') {
      inputs = { [textField]: text };
    } else {
      if (entry.value === null) return failed({ _raw: '' }, 'the message has no value (a tombstone)');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return failed({ _raw: text }, error instanceof Error ? error.message : String(error));
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
        return failed({ _raw: text }, `expected a JSON object, got ${kind}`);
      }
      inputs = value as Record<string, unknown>;
    }
    if (keyField !== undefined) inputs = { ...inputs, [keyField]: key ?? null };
    if (idField === undefined) return { seq: current, id: fallbackId, inputs, position };
    const id = inputs[idField];
    if (id === undefined || id === null || id === '')
      return failed(inputs, `id field \`${idField}\` is ${id === '' ? 'empty' : 'missing'}`);
    return { seq: current, id: typeof id === 'object' ? JSON.stringify(id) : String(id), inputs, position };
  };

  async function* iterate(): AsyncGenerator<Item> {
    const onAbort = (): void => fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      started ??= start();
      await started.catch((error: unknown) => {
        if (error instanceof DifyBatchError) throw error;
        throw new DifyBatchError(
          'ERR_SOURCE_READ',
          `cannot consume ${label} from ${brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      });
      for (;;) {
        if (failure !== undefined) throw failure;
        const entry = buffer.shift();
        if (entry !== undefined) {
          resumeFetching();
          if (owned.get(entry.tp)?.epoch !== entry.epoch) continue;
          yield toItem(entry);
          continue;
        }
        let poll: ReturnType<typeof setTimeout> | undefined;
        if (stopAtEnd && atEnd()) {
          if (
            Date.now() >= groupDoneAt &&
            (await groupDone().catch((error: unknown) => {
              throw new DifyBatchError(
                'ERR_SOURCE_READ',
                `${label}: cannot read the group's committed offsets: ${error instanceof Error ? error.message : String(error)}`,
                { cause: error },
              );
            })) &&
            // A rebalance during the look may have assigned partitions not read yet.
            atEnd()
          ) {
            pauseFetching();
            return;
          }
          groupDoneAt = Date.now() + groupPollMs;
          // Other members are still at work: stay in the group (a rebalance may hand us their
          // partitions) and look again after groupPollMs.
          poll = setTimeout(notify, groupPollMs);
          if (buffer.length > 0 || failure !== undefined) {
            clearTimeout(poll);
            continue;
          }
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        clearTimeout(poll);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  const commitOffsets = async (watermarks: readonly Watermark[]): Promise<void> => {
    const offsets = new Map<
      string,
      { topic: string; partition: number; offset: string; epoch: number; records: number }
    >();
    for (const mark of watermarks) {
      const ref = refs.get(mark.seq);
      // Forget every record of the partition up to the watermark: their keys are no longer needed.
      const seqs = seqsByPartition.get(mark.partition);
      let n = 0;
      // Records of the watermark's assignment (epoch) this commit covers; earlier ones were handed over.
      let records = offsets.get(mark.partition)?.records ?? 0;
      if (seqs !== undefined) {
        while (n < seqs.length && seqs[n]! <= mark.seq) {
          if (refs.get(seqs[n]!)?.epoch === ref?.epoch) records++;
          refs.delete(seqs[n++]!);
        }
        seqs.splice(0, n);
      }
      if (ref === undefined) continue;
      const [topic, partition] = splitTp(ref.tp);
      offsets.set(ref.tp, { topic, partition, offset: String(ref.offset + 1), epoch: ref.epoch, records });
    }
    for (let attempt = 1; ; attempt++) {
      // Only partitions still ours under the assignment that read them: the new owner commits the rest.
      const mine = [...offsets.entries()].filter(([tp, o]) => owned.get(tp)?.epoch === o.epoch);
      if (mine.length === 0 || consumer === undefined) return;
      try {
        await consumer.commitOffsets(
          mine.map(([, { topic, partition, offset }]) => ({ topic, partition, offset })),
        );
        for (const [, o] of mine) committedCount += o.records;
        return;
      } catch (error) {
        if (attempt >= 30 || !isRejoinError(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000)));
      }
    }
  };

  return {
    [Symbol.asyncIterator]: () => {
      if (iterated) throw new DifyBatchError('ERR_SOURCE_READ', `${label}: a Kafka source is single-use`);
      iterated = true;
      return iterate();
    },
    commit: async (watermarks) => {
      await commitOffsets(watermarks);
    },
    get readAhead() {
      return { buffered: buffer.length, peakBuffered, pauses };
    },
    get share() {
      return { committed: committedCount, handedOver };
    },
    recordOf: (n) => {
      const ref = refs.get(n);
      if (ref === undefined) return undefined;
      return { key: ref.key, current: owned.get(ref.tp)?.epoch === ref.epoch };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      fail(new DifyBatchError('ERR_SOURCE_READ', `${label}: the source was closed`));
      await started?.catch(() => {});
      await Promise.all([consumer?.disconnect(), admin?.disconnect()]);
    },
  };
}

function splitTp(tp: string): [string, number] {
  const at = tp.lastIndexOf(':');
  return [tp.slice(0, at), Number(tp.slice(at + 1))];
}
