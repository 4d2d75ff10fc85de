import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber?: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly label: string;
  readonly path: string;
  /** Busy time sampled (idle excluded), ms. */
  readonly busyMs: number;
  /** Functions by self time, largest first. */
  readonly top: readonly {
    readonly fn: string;
    readonly where: string;
    readonly selfMs: number;
    readonly share: number;
  }[];
}

/** Self time per function from a V8 .cpuprofile (JSON, `--profile` runs), idle excluded. */
export function summarizeProfile(path: string, label: string, limit = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const maps = new Map<string, SourceMap | undefined>();
  /** `file:line` in the repository: a bundled bench/out/dist chunk is mapped back to its .ts source. */
  const locate = (url: string, line: number, column: number): string => {
    const file = url.replace(/^file:\/\//, '');
    if (file === '') return '';
    if (/\/bench\/out\/dist\/[^/]+\.js$/.test(file)) {
      if (!maps.has(file)) maps.set(file, loadSourceMap(`${file}.map`));
      const entry = maps.get(file)?.findEntry(line, column);
      if (entry !== undefined && 'originalSource' in entry && entry.originalSource !== undefined)
        return `${repositoryPath(entry.originalSource)}:${entry.originalLine + 1}`;
    }
    return `${repositoryPath(file)}:${line + 1}`;
  };
  const selfUs = new Map<string, { fn: string; where: string; us: number }>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') return;
    const delta = profile.timeDeltas[i] ?? 0;
    busyUs += delta;
    const where = locate(frame.url, frame.lineNumber, frame.columnNumber ?? 0);
    const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const key = `${fn}@${where}`;
    const entry = selfUs.get(key) ?? { fn, where, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
  });
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map(({ fn, where, us }) => ({ fn, where, selfMs: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }));
  return { label, path, busyMs: busyUs / 1000, top };
}

function loadSourceMap(path: string): SourceMap | undefined {
  return existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8'))) : undefined;
}

/** `src/…`, `bench/…` or `node_modules/…` from an absolute path, a file URL or a source map's relative one. */
function repositoryPath(path: string): string {
  return path.replace(/^file:\/\//, '').replace(/^(?:.*?\/)?(node_modules|src|bench|test)\//, '$1/');
}
