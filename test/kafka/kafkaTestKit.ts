import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';

/** One message read back from a topic, its value parsed. */
export interface OutMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Record<string, unknown>;
}

/** Helpers for the Kafka suite: topics, producing inputs, reading outputs and group offsets. */
export function kafkaTestKit() {
  const bootstrap = inject('kafkaBootstrap');
  const kafka = new Kafka({ clientId: 'test-kit', brokers: [bootstrap], logLevel: logLevel.NOTHING });

  const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

  async function createTopic(partitions: number, prefix = 'topic'): Promise<string> {
    const topic = unique(prefix);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  /** Produces `records` with keys `id`, partition `i % partitions` (so every partition gets its share). */
  async function produce(
    topic: string,
    records: readonly { key: string; value: string | null; partition?: number }[],
  ): Promise<void> {
    // Idempotent: a retried send on a fresh broker would otherwise duplicate inputs.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < records.length; i += 500) {
        await producer.send({ topic, acks: -1, messages: records.slice(i, i + 500) });
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** Every message of `topic`, read from the start until `count` arrived (or `timeoutMs` passed). */
  async function readTopic(topic: string, count: number, timeoutMs = 60_000): Promise<OutMessage[]> {
    const out: OutMessage[] = [];
    const consumer = kafka.consumer({ groupId: unique('reader') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const enough = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
        });
        if (out.length >= count) done();
      },
    });
    const timer = setTimeout(done, timeoutMs);
    await enough;
    clearTimeout(timer);
    // A little longer, so that extra (duplicate) messages would show up too.
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
    return out;
  }

  async function committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map(entry!.partitions.map((p) => [p.partition, Number(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  async function endOffsets(topic: string): Promise<Map<number, number>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  return { bootstrap, unique, createTopic, produce, readTopic, committedOffsets, endOffsets };
}
