import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/InvalidOptionError.js';
import { KAFKA_SINK_DEFAULTS } from '../../src/sinks/kafka/createKafkaSink.js';
import { toKafka } from '../../src/sinks/toKafka.js';
import { FROM_KAFKA_DEFAULTS, fromKafka } from '../../src/sources/fromKafka.js';
import { KAFKA_CONNECTION_DEFAULTS } from '../../src/sources/kafka/KafkaConnection.js';

// Behaviour against a real broker is in test/kafka (npm run test:kafka); these need none.
const valid = { brokers: ['127.0.0.1:9092'], groupId: 'g', topics: ['in'] };

describe('fromKafka / toKafka options', () => {
  it('documents its defaults', () => {
    expect(FROM_KAFKA_DEFAULTS).toEqual({
      valueFormat: 'json',
      textField: 'text',
      stopAtEnd: false,
      bufferSize: 500,
      sessionTimeoutMs: 10_000,
      maxWaitMs: 200,
      groupPollMs: 250,
    });
    expect(KAFKA_SINK_DEFAULTS).toEqual({ retry: { maxAttempts: 5, minDelayMs: 200, maxDelayMs: 5_000 } });
    expect(KAFKA_CONNECTION_DEFAULTS).toEqual({ clientId: 'dify-batch' });
  });

  it.each([
    [{ brokers: [] }, 'brokers'],
    [{ brokers: ['localhost'] }, 'brokers'],
    [{ groupId: '' }, 'groupId'],
    [{ topics: [] }, 'topics'],
    [{ valueFormat: 'xml' }, 'valueFormat'],
    [{ bufferSize: 0 }, 'bufferSize'],
    [{ idField: '' }, 'idField'],
    [{ maxWaitMs: 0 }, 'maxWaitMs'],
    [{ groupPollMs: 0.5 }, 'groupPollMs'],
  ])('rejects %j synchronously, naming the option', (patch, option) => {
    const call = () => fromKafka({ ...valid, ...patch } as never);
    expect(call).toThrow(InvalidOptionError);
    expect(call).toThrow(new RegExp(`\`${option}\``));
  });

  it('connects nothing until iterated or written', async () => {
    const source = fromKafka(valid);
    expect(source.readAhead).toEqual({ buffered: 0, peakBuffered: 0, pauses: 0 });
    expect(source.recordOf(0)).toBeUndefined();
    expect(source.share).toEqual({ committed: 0, handedOver: 0 });
    await source.close();
    const sink = toKafka({ brokers: ['127.0.0.1:9092'], topic: 'out' });
    await sink.write([]);
    await sink.close();
    expect(() => toKafka({ brokers: ['127.0.0.1:9092'], topic: '' })).toThrow(/`topic`/);
  });
});
