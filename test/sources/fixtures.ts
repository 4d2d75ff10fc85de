import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Item } from '../../src/core/Item.js';

/** A fresh temp dir and a cleanup for afterEach. */
export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dify-batch-io-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function collect(source: AsyncIterable<Item>): Promise<Item[]> {
  const items: Item[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** Lets pending I/O callbacks and stream events run, without a wall-clock sleep. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Descriptors this process holds open on `path` (Linux /proc), with their file positions. */
export async function openDescriptors(path: string): Promise<{ fd: string; pos: number }[]> {
  const found: { fd: string; pos: number }[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target !== path) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    found.push({ fd, pos: Number(/^pos:\s+(\d+)/m.exec(info)?.[1] ?? Number.NaN) });
  }
  return found;
}

export const isLinux = process.platform === 'linux';
