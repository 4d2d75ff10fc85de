import { type ChildProcess, fork } from 'node:child_process';
import type { EmulatorOptions } from '../src/emulator/EmulatorOptions.js';
import type { EmulatorCommand, EmulatorReply } from './protocol.js';

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type CommandBody =
  | { cmd: 'configure'; patch: Partial<EmulatorOptions> }
  | { cmd: 'reset' | 'stats' | 'close' };

/** Parent-side handle of bench/emulator-server.ts running in its own process. */
export class EmulatorProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(child: ChildProcess, url: string) {
    this.#child = child;
    this.url = url;
    child.on('message', (message: EmulatorReply) => {
      if (message.type !== 'reply') return;
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(`emulator: ${message.error}`));
      else pending?.resolve(message.value);
    });
    child.on('exit', (code) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`emulator exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Forks the emulator server script and waits until it listens. */
  static async start(script: string, args: readonly string[] = []): Promise<EmulatorProcess> {
    const child = fork(script, [...args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`emulator-server exited (${code}) before it listened`));
      child.once('exit', onExit);
      child.once('message', (message: EmulatorReply) => {
        child.off('exit', onExit);
        if (message.type === 'ready') resolve(message.url);
        else reject(new Error('emulator-server sent a reply before it was ready'));
      });
    });
    return new EmulatorProcess(child, url);
  }

  #send(body: CommandBody): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...body } as EmulatorCommand);
    });
  }

  configure(patch: Partial<EmulatorOptions>): Promise<unknown> {
    return this.#send({ cmd: 'configure', patch });
  }

  /** Counters and fault state back to zero; called between contenders. */
  reset(): Promise<unknown> {
    return this.#send({ cmd: 'reset' });
  }

  stats(): Promise<unknown> {
    return this.#send({ cmd: 'stats' });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.#send({ cmd: 'close' }).catch(() => undefined);
    await exited;
  }
}
