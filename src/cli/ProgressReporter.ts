import cliProgress from 'cli-progress';
import type { RunProgress } from '../pipeline/RunSummary.js';

/** Options of {@link ProgressReporter}. */
export interface ProgressReporterOptions {
  /** Where progress goes; results may own stdout. */
  readonly stream: NodeJS.WriteStream;
  /** Known total of items (enables the bar's percentage and ETA), if the input size is known. */
  readonly total?: number | undefined;
  /** How often a plain line is printed when `stream` is not a TTY. @defaultValue 5000 */
  readonly plainIntervalMs?: number;
  /** Print nothing. @defaultValue false */
  readonly quiet?: boolean;
}

/**
 * A cli-progress bar with done/failed/retries/rate/ETA on a TTY; periodic plain lines otherwise
 * (CI logs and pipes do not want carriage returns).
 */
export class ProgressReporter {
  readonly #options: ProgressReporterOptions;
  readonly #bar: cliProgress.SingleBar | undefined;
  #total: number | undefined;
  #lastPlainAt = 0;
  #started = false;

  constructor(options: ProgressReporterOptions) {
    this.#options = options;
    this.#total = options.total;
    if (options.quiet !== true && options.stream.isTTY === true) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream: options.stream,
          // A function, not a template: the total may become known only after the bar started.
          format: (opts, params, payload: Record<string, number>) => {
            const counts = `${payload.failed} failed | ${payload.retries} retries | ${payload.rate}/s | ${payload.inFlight} in flight`;
            if (params.total <= 0) return ` ${params.value} done | ${counts}`;
            const width = opts.barsize ?? 30;
            const filled = Math.round(Math.min(1, params.value / params.total) * width);
            const bar =
              (opts.barCompleteString ?? '#').slice(0, filled) +
              (opts.barIncompleteString ?? '-').slice(0, width - filled);
            const eta = params.eta > 0 && Number.isFinite(params.eta) ? `${Math.round(params.eta)} s` : '-';
            return ` ${bar} ${Math.floor(params.progress * 100)}% | ${params.value}/${params.total} | ${counts} | ETA ${eta}`;
          },
          hideCursor: true,
          etaBuffer: 200,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  /** The total became known (counted in the background). */
  setTotal(total: number): void {
    this.#total = total;
    if (this.#bar !== undefined && this.#started) this.#bar.setTotal(total);
  }

  update(progress: RunProgress): void {
    if (this.#options.quiet === true) return;
    const rate = progress.elapsedMs > 0 ? Math.round((progress.written * 1000) / progress.elapsedMs) : 0;
    const payload = { failed: progress.failed, retries: progress.retries, rate, inFlight: progress.inFlight };
    if (this.#bar !== undefined) {
      if (!this.#started) {
        this.#bar.start(this.#total ?? 0, 0, payload);
        this.#started = true;
      }
      this.#bar.update(progress.written, payload);
      return;
    }
    const interval = this.#options.plainIntervalMs ?? 5000;
    if (progress.elapsedMs - this.#lastPlainAt < interval) return;
    this.#lastPlainAt = progress.elapsedMs;
    const total = this.#total === undefined ? '' : `/${this.#total}`;
    this.#options.stream.write(
      `progress: ${progress.written}${total} done, ${progress.failed} failed, ${progress.retries} retries, ${rate}/s, ${progress.inFlight} in flight\n`,
    );
  }

  stop(): void {
    if (this.#bar !== undefined && this.#started) this.#bar.stop();
  }
}
