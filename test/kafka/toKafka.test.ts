import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DifyBatchError } from '../../src/core/DifyBatchError.js';
import type { ItemResult } from '../../src/core/ItemResult.js';
import { toKafka } from '../../src/sinks/toKafka.js';
import { kafkaTestKit } from './kafkaTestKit.js';

const kit = kafkaTestKit();
let proxy: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => (proxy === undefined ? resolve(undefined) : proxy.close(resolve)));
  proxy = undefined;
});

const result = (seq: number): ItemResult => ({
  seq,
  id: `r${seq}`,
  ok: true,
  outputs: { n: seq },
  attempts: 1,
  latencyMs: 1,
});

/** A free loopback port with nothing listening on it (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Forwards `port` to the broker: the bootstrap connection goes through it. */
async function startProxy(port: number): Promise<void> {
  const [host, brokerPort] = kit.bootstrap.split(':') as [string, string];
  proxy = createServer((client) => {
    const upstream = tcpConnect(Number(brokerPort), host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy!.listen(port, '127.0.0.1', resolve));
}

describe('toKafka against a real broker', () => {
  it('a produce that fails (broker unreachable) is retried, acknowledged only once delivered, and not duplicated', async () => {
    const topic = await kit.createTopic(1, 'retry');
    const port = await freePort();
    const sink = toKafka({
      brokers: [`127.0.0.1:${port}`],
      topic,
      retry: { maxAttempts: 20, minDelayMs: 100, maxDelayMs: 500 },
    });
    let acknowledged = false;
    const write = sink.write([result(0), result(1), result(2)]).then(() => {
      acknowledged = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(acknowledged).toBe(false);
    await startProxy(port);
    await write;
    await sink.write([result(3)]);
    await sink.close();
    const messages = await kit.readTopic(topic, 4);
    expect(messages.map((m) => [m.key, m.value.seq])).toEqual([
      ['r0', 0],
      ['r1', 1],
      ['r2', 2],
      ['r3', 3],
    ]);
  });

  it('a produce that keeps failing rejects with ERR_SINK_WRITE, and every later write too', async () => {
    const port = await freePort();
    const sink = toKafka({
      brokers: [`127.0.0.1:${port}`],
      topic: 'never',
      retry: { maxAttempts: 2, minDelayMs: 10, maxDelayMs: 10 },
    });
    const error = await sink.write([result(0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DifyBatchError);
    expect((error as DifyBatchError).code).toBe('ERR_SINK_WRITE');
    expect((error as Error).message).toMatch(new RegExp(`kafka topic never at 127\\.0\\.0\\.1:${port}`));
    await expect(sink.write([result(1)])).rejects.toBe(error);
    await sink.close();
  });
});
