import type { Item } from '../core/Item.js';
import type { ItemResult } from '../core/ItemResult.js';
import type { ResultSink } from '../sinks/ResultSink.js';
import { type DeadLetterEntry, toDeadLetter } from '../sinks/toDeadLetter.js';
import { toFile } from '../sinks/toFile.js';
import { toHttp } from '../sinks/toHttp.js';
import { toKafka } from '../sinks/toKafka.js';
import { toKafkaDeadLetter } from '../sinks/toKafkaDeadLetter.js';
import { fromFile } from '../sources/fromFile.js';
import { fromHttp } from '../sources/fromHttp.js';
import { fromKafka, type KafkaGroupShare, type KafkaSource } from '../sources/fromKafka.js';
import type { SourceFormat } from '../sources/SourceFormat.js';
import { CliError } from './CliError.js';

/** What `--input`, `--output` and `--errors` name, opened. */
export interface Endpoints {
  readonly source: AsyncIterable<Item>;
  readonly sink: ResultSink<ItemResult>;
  readonly deadLetter: ResultSink<DeadLetterEntry> | undefined;
  /** True when `--input` is a file (or stdin): only then can records be counted ahead or checked. */
  readonly inputIsFile: boolean;
  /** A `kafka://` input's share of its consumer group's work so far; `undefined` for other inputs. */
  kafkaShare(): KafkaGroupShare | undefined;
  /** Closes what the sinks do not: the Kafka consumer (after its last commit). */
  close(): Promise<void>;
}

/** The flags openEndpoints reads. */
export interface EndpointFlags {
  readonly input: string;
  readonly output: string;
  readonly errors?: string | undefined;
  readonly inputFormat?: SourceFormat | undefined;
  readonly outputFormat?: SourceFormat | undefined;
  readonly idField?: string | undefined;
  readonly stopAtEnd?: boolean | undefined;
  readonly webhookFallback?: string | undefined;
  /** A file input resumed from a checkpoint (resumeRun): `fromFile`'s `resumeFrom`. */
  readonly resumeFrom?: { readonly seq: number; readonly line: number; readonly offset: number } | undefined;
  /** File outputs resumed from a checkpoint: `toFile`/`toDeadLetter`'s `resumeAt`, the dead letters' CSV columns. */
  readonly outputResumeAt?: number | undefined;
  readonly deadLetterResumeAt?: number | undefined;
  readonly deadLetterColumns?: readonly string[] | undefined;
}

/** True for `kafka://…`, `http://…` and `https://…`: never a file path (so never "an existing file"). */
export function isUrlEndpoint(value: string): boolean {
  return /^(kafka|https?):\/\//i.test(value);
}

/** `kafka://HOST:PORT[,HOST:PORT…]/TOPIC[,TOPIC…][?group=GROUP]`, parsed; a one-line CliError otherwise. */
export function parseKafkaUrl(
  flag: string,
  value: string,
): { brokers: string[]; topics: string[]; group?: string } {
  const match = /^kafka:\/\/([^/?#]+)\/([^?#]+)(?:\?([^#]*))?$/i.exec(value);
  const brokers = match?.[1]?.split(',').filter((b) => b !== '') ?? [];
  const topics = match?.[2]?.split(',').filter((t) => t !== '') ?? [];
  if (
    match === null ||
    brokers.length === 0 ||
    topics.length === 0 ||
    !brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))
  ) {
    throw new CliError(`${flag} must look like kafka://HOST:PORT/TOPIC, got "${value}"`);
  }
  const params = new URLSearchParams(match[3] ?? '');
  for (const key of params.keys()) {
    if (key !== 'group') throw new CliError(`${flag}: unknown parameter "${key}" (only ?group=GROUP)`);
  }
  const group = params.get('group') ?? undefined;
  return group === undefined || group === '' ? { brokers, topics } : { brokers, topics, group };
}

/**
 * Maps `--input`/`--output`/`--errors` to a source and sinks: a file path (or `-`), `kafka://…` or
 * `http(s)://…`. Throws a one-line CliError for a combination that cannot work, before anything opens.
 */
export function openEndpoints(flags: EndpointFlags, signal: AbortSignal): Endpoints {
  const kind = (value: string) =>
    /^kafka:/i.test(value) ? 'kafka' : /^https?:/i.test(value) ? 'http' : 'file';
  const idField = flags.idField === undefined ? {} : { idField: flags.idField };
  // Every check before anything is opened (a file sink truncates its file at once).
  if (flags.webhookFallback !== undefined && kind(flags.output) !== 'http')
    throw new CliError('--webhook-fallback is for an http(s):// --output');
  if (flags.stopAtEnd === true && kind(flags.input) !== 'kafka')
    throw new CliError('--stop-at-end is for a kafka:// --input');
  if (flags.errors !== undefined && kind(flags.errors) === 'http')
    throw new CliError('--errors takes a file or a kafka:// topic, not an http(s) URL');
  const outputKafka = kind(flags.output) === 'kafka' ? parseKafkaUrl('--output', flags.output) : undefined;
  if (outputKafka !== undefined && outputKafka.topics.length !== 1)
    throw new CliError('--output kafka://… names exactly one topic');
  const errorsKafka =
    flags.errors !== undefined && kind(flags.errors) === 'kafka'
      ? parseKafkaUrl('--errors', flags.errors)
      : undefined;
  if (errorsKafka !== undefined && errorsKafka.topics.length !== 1)
    throw new CliError('--errors kafka://… names exactly one topic');
  let kafkaSource: KafkaSource | undefined;
  let source: AsyncIterable<Item>;
  if (kind(flags.input) === 'kafka') {
    const { brokers, topics, group } = parseKafkaUrl('--input', flags.input);
    if (group === undefined) throw new CliError('--input kafka://… needs a consumer group: add ?group=GROUP');
    kafkaSource = fromKafka({
      brokers,
      topics,
      groupId: group,
      ...idField,
      stopAtEnd: flags.stopAtEnd === true,
      signal,
    });
    source = kafkaSource;
  } else {
    const format = flags.inputFormat === undefined ? {} : { format: flags.inputFormat };
    source =
      kind(flags.input) === 'http'
        ? fromHttp(flags.input, { ...format, ...idField, signal })
        : fromFile(flags.input, {
            ...format,
            ...idField,
            ...(flags.resumeFrom === undefined ? {} : { resumeFrom: flags.resumeFrom }),
            signal,
          });
  }
  const origin = kafkaSource === undefined ? {} : { origin: kafkaSource };

  let sink: ResultSink<ItemResult>;
  switch (kind(flags.output)) {
    case 'kafka':
      sink = toKafka({ brokers: outputKafka!.brokers, topic: outputKafka!.topics[0]!, ...origin, signal });
      break;
    case 'http':
      sink = toHttp(flags.output, {
        signal,
        ...(flags.webhookFallback === undefined ? {} : { fallback: toFile(flags.webhookFallback) }),
      });
      break;
    default:
      sink = toFile(flags.output, {
        ...(flags.outputFormat === undefined ? {} : { format: flags.outputFormat }),
        resumeAt: flags.outputResumeAt,
      });
  }
  let deadLetter: ResultSink<DeadLetterEntry> | undefined;
  if (errorsKafka !== undefined) {
    deadLetter = toKafkaDeadLetter({
      brokers: errorsKafka.brokers,
      topic: errorsKafka.topics[0]!,
      ...origin,
      signal,
    });
  } else if (flags.errors !== undefined) {
    deadLetter = toDeadLetter(flags.errors, {
      resumeAt: flags.deadLetterResumeAt,
      columns: flags.deadLetterColumns,
    });
  }
  return {
    source,
    sink,
    deadLetter,
    inputIsFile: kind(flags.input) === 'file',
    kafkaShare: () => kafkaSource?.share,
    close: async () => {
      await kafkaSource?.close();
    },
  };
}
