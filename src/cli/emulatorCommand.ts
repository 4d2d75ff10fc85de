import { type Command, Option } from 'commander';
import { EMULATOR_DEFAULT_APPS } from '../emulator/EMULATOR_DEFAULT_APPS.js';
import type { EmulatorOptions, LatencyDistribution } from '../emulator/EmulatorOptions.js';
import { startEmulator } from '../emulator/startEmulator.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { parseNonNegativeNumber, parsePort, parseProbability } from './parsers.js';

interface EmulatorCommandOptions {
  port: number;
  host: string;
  latencyMs?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  maxActive?: number;
  concurrencyLimitStatus: '400' | '429';
  difyVersion: '1.13' | '1.15';
  rps?: number;
  rateLimitRetryAfter?: boolean;
  faultRate?: number;
  faultsPerInput?: number;
  seed?: number;
}

function latencyOf(opts: EmulatorCommandOptions): LatencyDistribution {
  if (opts.latencyP50Ms !== undefined || opts.latencyP99Ms !== undefined) {
    if (
      opts.latencyP50Ms === undefined ||
      opts.latencyP99Ms === undefined ||
      opts.latencyP99Ms < opts.latencyP50Ms
    ) {
      throw new CliError('--latency-p50-ms and --latency-p99-ms go together, with p99 ≥ p50');
    }
    return { kind: 'lognormal', p50Ms: opts.latencyP50Ms, p99Ms: opts.latencyP99Ms };
  }
  return { kind: 'fixed', ms: opts.latencyMs ?? 0 };
}

/** Adds `dify-batch emulator`: a Dify Service API emulator on loopback, until Ctrl-C. */
export function registerEmulatorCommand(program: Command, ctx: CliContext): void {
  program
    .command('emulator')
    .description('Start the built-in Dify Service API emulator and print its base URL and app keys')
    .option('-p, --port <n>', 'port (0 = any free port)', parsePort, 5001)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--latency-ms <ms>', 'fixed latency per call', parseNonNegativeNumber)
    .option('--latency-p50-ms <ms>', 'log-normal latency: median', parseNonNegativeNumber)
    .option('--latency-p99-ms <ms>', 'log-normal latency: 99th percentile', parseNonNegativeNumber)
    .option(
      '--max-active <n>',
      "app concurrency limit (Dify's max_active_requests; 0 = none)",
      parseNonNegativeNumber,
    )
    .addOption(
      new Option(
        '--concurrency-limit-status <status>',
        'how the concurrency limit answers (400 invalid_param, as Dify code does; or 429)',
      )
        .choices(['400', '429'])
        .default('400'),
    )
    .addOption(
      new Option(
        '--dify-version <version>',
        'behave as this Dify where versions differ (1.13: an invalid input in streaming mode gets a ping then silence; 1.15: a failed workflow_finished)',
      )
        .choices(['1.13', '1.15'])
        .default('1.13'),
    )
    .option(
      '--rps <n>',
      'requests per second allowed (token bucket starting full); excess gets 429 (0 = off)',
      parseNonNegativeNumber,
    )
    .option('--rate-limit-retry-after', "send Retry-After with 429s (Dify's /v1 never does; off by default)")
    .option('--fault-rate <p>', 'probability of each of 429 / 500 / HTML 502 per call', parseProbability)
    .option(
      '--faults-per-input <n>',
      'inject faults only on the first N calls of each input',
      parseNonNegativeNumber,
    )
    .option('--seed <n>', 'seed of latency and fault draws', parseNonNegativeNumber)
    .action(async (opts: EmulatorCommandOptions) => {
      const options: EmulatorOptions = {
        port: opts.port,
        host: opts.host,
        latency: latencyOf(opts),
        concurrencyLimitStatus: opts.concurrencyLimitStatus === '429' ? 429 : 400,
        difyVersion: opts.difyVersion,
        ...(opts.maxActive === undefined ? {} : { maxActiveRequests: opts.maxActive }),
        ...(opts.rps === undefined ? {} : { rateLimitRps: opts.rps }),
        ...(opts.rateLimitRetryAfter === true ? { rateLimitRetryAfter: true } : {}),
        ...(opts.faultRate === undefined
          ? {}
          : { faults: { rate429: opts.faultRate, rate500: opts.faultRate, rate502Html: opts.faultRate } }),
        ...(opts.faultsPerInput === undefined ? {} : { faultsPerInputMax: opts.faultsPerInput }),
        ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      };
      const emulator = await startEmulator(options);
      ctx.stdout.write(`${emulator.url}\n`);
      for (const app of EMULATOR_DEFAULT_APPS) ctx.stderr.write(`  ${app.mode.padEnd(10)} key ${app.key}\n`);
      ctx.stderr.write(`  stats: ${emulator.url.replace(/\/v1$/, '')}/_emulator/stats   (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        if (ctx.drainSignal.aborted) resolve();
        ctx.drainSignal.addEventListener('abort', () => resolve(), { once: true });
      });
      await emulator.close();
    });
}
