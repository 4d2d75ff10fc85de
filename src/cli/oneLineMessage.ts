import { DifyBatchError } from '../core/DifyBatchError.js';
import { redactSecrets } from '../core/redactSecrets.js';
import { CliError } from './CliError.js';

/** The one line the CLI prints for a fatal error: our own messages as they are, anything else named as unexpected; secrets redacted. */
export function oneLineMessage(error: unknown): string {
  const message =
    error instanceof CliError || error instanceof DifyBatchError
      ? error.message
      : error instanceof Error && error.name === 'AbortError'
        ? 'aborted'
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  return redactSecrets(message.split('\n')[0] ?? '');
}
