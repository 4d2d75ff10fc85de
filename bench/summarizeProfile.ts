import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
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

/** Self time per function from a `--cpu-prof` file (V8 .cpuprofile JSON), idle excluded. */
export function summarizeProfile(path: string, label: string, limit = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { fn: string; where: string; us: number }>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') return;
    const delta = profile.timeDeltas[i] ?? 0;
    busyUs += delta;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|bench\/out\/dist)\//, '$1/');
    const where = file === '' ? '' : `${file}:${frame.lineNumber + 1}`;
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
