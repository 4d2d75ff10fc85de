/** The signals the CLI drains on. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** Exit codes after a signal, by the shell convention 128 + signal number. */
const EXIT_CODES: Readonly<Record<InterruptSignal, number>> = Object.freeze({ SIGINT: 130, SIGTERM: 143 });

/**
 * The reason of the CLI's drain and abort signals: which signal asked the run to stop, so the exit code
 * (130 after SIGINT, 143 after SIGTERM) and the wording match what the user or the supervisor sent.
 */
export class Interruption extends Error {
  readonly signal: InterruptSignal;

  constructor(signal: InterruptSignal, message: string) {
    super(message);
    this.name = 'AbortError';
    this.signal = signal;
  }

  /** 130 for SIGINT, 143 for SIGTERM. */
  get exitCode(): number {
    return EXIT_CODES[this.signal];
  }
}
