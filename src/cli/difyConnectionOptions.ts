import { type Command, Option } from 'commander';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';

/** The flags every command that calls a Dify app takes (commander's camelCase). */
export interface DifyConnectionFlags {
  baseUrl?: string;
  apiKey?: string;
  app: 'workflow' | 'completion' | 'chat';
  responseMode: 'blocking' | 'streaming';
}

/** Adds `--base-url`, `--api-key`, `--app` and `--response-mode` to `command`, with one wording. */
export function addDifyConnectionOptions(command: Command): Command {
  return command
    .option('--base-url <url>', 'Dify Service API base URL, /v1 included (env DIFY_BASE_URL)')
    .option('--api-key <key>', 'Dify app API key (env DIFY_API_KEY; prefer the env var: flags show up in ps)')
    .addOption(
      new Option('--app <kind>', 'app kind').choices(['workflow', 'completion', 'chat']).default('workflow'),
    )
    .addOption(
      new Option('--response-mode <mode>', 'response mode')
        .choices(['blocking', 'streaming'])
        .default('blocking'),
    );
}

/**
 * The base URL and key from the flags, else `DIFY_BASE_URL` / `DIFY_API_KEY`.
 * @throws CliError (one line) when either is missing or the URL is not http(s).
 */
export function resolveDifyConnection(
  flags: Pick<DifyConnectionFlags, 'baseUrl' | 'apiKey'>,
  ctx: CliContext,
): { baseUrl: string; apiKey: string } {
  const baseUrl = flags.baseUrl ?? ctx.env.DIFY_BASE_URL;
  const apiKey = flags.apiKey ?? ctx.env.DIFY_API_KEY;
  if (baseUrl === undefined || baseUrl === '')
    throw new CliError('missing --base-url (or env DIFY_BASE_URL), e.g. https://api.dify.ai/v1');
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new CliError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
  }
  if (apiKey === undefined || apiKey === '') throw new CliError('missing --api-key (or env DIFY_API_KEY)');
  return { baseUrl, apiKey };
}
