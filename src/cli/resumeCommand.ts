import { shellQuote } from './shellQuote.js';

/** The command that continues an interrupted run, ready to paste. */
export interface ResumeCommand {
  /** `dify-batch run … --resume`, shell-quoted. */
  readonly command: string;
  /** The original command line had `--api-key VALUE`, which was left out (it is never printed). */
  readonly apiKeyDropped: boolean;
}

/**
 * The original `argv` (without node and script) with `--resume` appended: `--overwrite` is removed
 * (continuing must not start over) and `--api-key VALUE` is left out so the key is never printed.
 * `appendResume: false` gives the same command without `--resume` (a Kafka input continues from its
 * committed offsets by itself).
 */
export function resumeCommand(
  argv: readonly string[],
  program = 'dify-batch',
  { appendResume = true }: { readonly appendResume?: boolean } = {},
): ResumeCommand {
  const kept: string[] = [];
  let apiKeyDropped = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--overwrite' || arg === '--resume') continue;
    if (arg === '--api-key') {
      apiKeyDropped = true;
      i++; // its value
      continue;
    }
    if (arg.startsWith('--api-key=')) {
      apiKeyDropped = true;
      continue;
    }
    kept.push(arg);
  }
  const words = appendResume ? [program, ...kept, '--resume'] : [program, ...kept];
  return { command: words.map(shellQuote).join(' '), apiKeyDropped };
}
