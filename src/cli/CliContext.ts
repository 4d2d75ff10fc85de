/** Everything the CLI touches outside itself, injected so tests can run it in-process. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** First Ctrl-C: stop reading, finish in-flight items, write them, exit. */
  readonly drainSignal: AbortSignal;
  /** Second Ctrl-C (or a grace timeout): cancel everything now. */
  readonly abortSignal: AbortSignal;
}
