/** Everything the CLI touches outside itself, injected so tests can run it in-process. */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /**
   * First SIGINT/SIGTERM: stop reading, finish in-flight items, write them, exit 130/143. Its reason is
   * an `Interruption` naming the signal.
   */
  readonly drainSignal: AbortSignal;
  /** Second signal (or a grace timeout): cancel everything now. */
  readonly abortSignal: AbortSignal;
  /** The arguments as given (without node and script), for the printed `--resume` command; runCli sets it. */
  readonly argv?: readonly string[];
}
