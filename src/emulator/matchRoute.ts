/**
 * The Service API's route table (`docs/dify-api.md` §1) and a matcher that behaves like Werkzeug's:
 * no rule → 404, a rule with other methods → 405. Used by `EmulatorServer`.
 */

export type RouteName =
  | 'welcome'
  | 'workflowRun'
  | 'workflowRunById'
  | 'workflowRunDetail'
  | 'workflowStop'
  | 'workflowLogs'
  | 'completion'
  | 'completionStop'
  | 'chat'
  | 'chatStop'
  | 'parameters'
  | 'meta'
  | 'info'
  | 'site'
  | 'filesUpload';

export interface RouteMatch {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST';
  /** The `<string:…>` segment, percent-decoded. */
  readonly param?: string;
}

function fixed(name: RouteName, method: 'GET' | 'POST'): readonly RouteMatch[] {
  return Object.freeze([Object.freeze({ name, method })]);
}

const STATIC: ReadonlyMap<string, readonly RouteMatch[]> = new Map([
  ['/v1/', fixed('welcome', 'GET')],
  ['/v1/workflows/run', fixed('workflowRun', 'POST')],
  ['/v1/workflows/logs', fixed('workflowLogs', 'GET')],
  ['/v1/completion-messages', fixed('completion', 'POST')],
  ['/v1/chat-messages', fixed('chat', 'POST')],
  ['/v1/parameters', fixed('parameters', 'GET')],
  ['/v1/meta', fixed('meta', 'GET')],
  ['/v1/info', fixed('info', 'GET')],
  ['/v1/site', fixed('site', 'GET')],
  ['/v1/files/upload', fixed('filesUpload', 'POST')],
]);

const NONE: readonly RouteMatch[] = Object.freeze([]);

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Every rule whose path matches (two rules can: `/workflows/run/run`), whatever their methods. */
export function matchRoutes(path: string): readonly RouteMatch[] {
  const hit = STATIC.get(path);
  if (hit !== undefined) return hit;
  if (!path.startsWith('/v1/')) return NONE;
  const s = path.slice(4).split('/');
  if (s.some((segment) => segment === '')) return NONE;
  const matches: RouteMatch[] = [];
  if (s.length === 3 && s[0] === 'workflows' && s[1] === 'run') {
    matches.push({ name: 'workflowRunDetail', method: 'GET', param: decode(s[2]!) });
  }
  if (s.length === 3 && s[0] === 'workflows' && s[2] === 'run') {
    matches.push({ name: 'workflowRunById', method: 'POST', param: decode(s[1]!) });
  }
  if (s.length === 4 && s[0] === 'workflows' && s[1] === 'tasks' && s[3] === 'stop') {
    matches.push({ name: 'workflowStop', method: 'POST', param: decode(s[2]!) });
  }
  if (s.length === 3 && s[2] === 'stop' && (s[0] === 'completion-messages' || s[0] === 'chat-messages')) {
    const name = s[0] === 'chat-messages' ? 'chatStop' : 'completionStop';
    matches.push({ name, method: 'POST', param: decode(s[1]!) });
  }
  return matches;
}

/** The `Allow` header Werkzeug sends with a 405 or an OPTIONS answer (GET implies HEAD). */
export function allowHeader(matches: readonly RouteMatch[]): string {
  const methods = new Set(['OPTIONS']);
  for (const m of matches) {
    methods.add(m.method);
    if (m.method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort().join(', ');
}
