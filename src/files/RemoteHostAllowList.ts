import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { checkFunction, checkOption } from '../internal/checkOption.js';
import { raceAbort } from '../internal/raceAbort.js';
import { nonPublicRange } from './nonPublicRange.js';

/** Resolves a host name to every address it has (`dns.promises.lookup` with `all: true`). */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Options of {@link RemoteHostAllowList}. */
export interface RemoteHostAllowListOptions {
  /**
   * How host names are resolved for the check (the connection then uses exactly these answers).
   * @defaultValue the system resolver: `dns.promises.lookup(host, { all: true, verbatim: true })`
   */
  readonly resolve?: ResolveHost | undefined;
}

const systemResolve: ResolveHost = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Where a remote file may be fetched from: a dispatcher pinned to the checked addresses, or why not. */
export type RemoteHostDecision =
  | { readonly allowed: true; readonly dispatcher: Agent }
  | { readonly allowed: false; readonly reason: string };

/**
 * Which hosts dify-batch itself may fetch `http(s)://` file inputs from (`--upload-remote`), so a record
 * cannot make it — or a gateway running users' records — reach the machine's own or its network's
 * services (SSRF).
 *
 * @remarks
 * - A host on the list is fetched whatever it resolves to. An entry is a host name (`files.example.com`,
 *   exactly that host), a suffix starting with a dot (`.example.com`: example.com and every subdomain),
 *   or an IP address (`127.0.0.1`, `::1`).
 * - Any other host is resolved and every address it resolves to must be public: one loopback,
 *   link-local, private, unique-local, unspecified or carrier-grade-NAT address refuses the URL
 *   ({@link nonPublicRange}).
 * - The connection is pinned to the addresses checked (the dispatcher's `lookup` answers with them), so
 *   a DNS answer that changes between the check and the connect (DNS rebinding) cannot switch it.
 * - Redirects are never followed by the download, so a public host cannot bounce the fetch inward.
 * @category files
 */
export class RemoteHostAllowList {
  readonly #hosts = new Set<string>();
  readonly #suffixes: string[] = [];
  readonly #resolve: ResolveHost;

  /**
   * @param hosts - Host names, `.suffixes` and IP addresses to fetch from without the address check.
   * @param options - The resolver.
   * @throws InvalidOptionError (ERR_INVALID_OPTION) for an entry that is not a host name, suffix or IP.
   */
  constructor(hosts: readonly string[] = [], options: RemoteHostAllowListOptions = {}) {
    this.#resolve = checkFunction('resolve', options.resolve ?? systemResolve);
    checkOption(Array.isArray(hosts), 'files.allowHosts', 'an array of host names', hosts);
    for (const entry of hosts) {
      const host = typeof entry === 'string' ? normalizeHost(entry) : '';
      checkOption(
        host !== '' && host !== '.' && !/[\s/@?#]/.test(host) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(entry),
        'files.allowHosts',
        'host names (files.example.com), suffixes (.example.com) or IP addresses',
        entry,
      );
      if (host.startsWith('.')) this.#suffixes.push(host);
      else this.#hosts.add(host);
    }
  }

  /** True when `hostname` (as `URL#hostname` spells it) is on the list. */
  allows(hostname: string): boolean {
    const host = normalizeHost(hostname);
    if (this.#hosts.has(host)) return true;
    return this.#suffixes.some((suffix) => host.endsWith(suffix) || host === suffix.slice(1));
  }

  /**
   * Decides whether `url` may be fetched; when it may, the dispatcher to fetch it with (close it after).
   * Rejects only when the name does not resolve (a network error, for the caller's retry) or on abort.
   */
  async decide(url: URL, signal?: AbortSignal): Promise<RemoteHostDecision> {
    const host = normalizeHost(url.hostname);
    if (this.allows(host)) return { allowed: true, dispatcher: new Agent() };
    const addresses: LookupAddress[] = isIP(host)
      ? [{ address: host, family: isIP(host) }]
      : [...(await raceAbort(this.#resolve(host), signal))];
    if (addresses.length === 0) return { allowed: false, reason: `${host} resolves to no address` };
    for (const { address } of addresses) {
      const range = nonPublicRange(address);
      if (range !== undefined) {
        const resolved = address === host ? ' is' : ` resolves to ${address}, which is`;
        return {
          allowed: false,
          reason: `${host}${resolved} ${/^[aeiou]/.test(range) ? 'an' : 'a'} ${range} address, refused unless the host is allowed (--files-allow-host / files.allowHosts)`,
        };
      }
    }
    // Connect only to what was checked: the socket's lookup answers with these addresses.
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    return { allowed: true, dispatcher: new Agent({ connect: { lookup: pinned } }) };
  }
}

/** Lower case, without IPv6 brackets or a trailing dot: how host names are compared. */
function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase();
  const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  const trimmed = bare.endsWith('.') && bare.length > 1 ? bare.slice(0, -1) : bare;
  // IPv6 literals in their canonical (WHATWG URL) spelling, so `0:0::1` and `::1` are one entry.
  if (isIP(trimmed) === 6) return new URL(`http://[${trimmed}]`).hostname.slice(1, -1);
  return trimmed;
}
