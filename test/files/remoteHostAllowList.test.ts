import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileUploads } from '../../src/files/FileUploads.js';
import { nonPublicRange } from '../../src/files/nonPublicRange.js';
import { RemoteHostAllowList, type ResolveHost } from '../../src/files/RemoteHostAllowList.js';
import { readFileVariables } from '../../src/files/readFileVariables.js';
import { resolveFileInputs } from '../../src/files/resolveFileInputs.js';

const octet = fc.integer({ min: 0, max: 255 });
const v4 = (a: number, b: number, c: number, d: number) => `${a}.${b}.${c}.${d}`;

describe('nonPublicRange', () => {
  it('names the non-public IPv4 ranges, and judges an IPv4-mapped IPv6 address by its IPv4 address', () => {
    fc.assert(
      fc.property(octet, octet, octet, (b, c, d) => {
        expect(nonPublicRange(v4(127, b, c, d))).toBe('loopback');
        expect(nonPublicRange(v4(10, b, c, d))).toBe('private');
        expect(nonPublicRange(v4(192, 168, c, d))).toBe('private');
        expect(nonPublicRange(v4(172, 16 + (b % 16), c, d))).toBe('private');
        expect(nonPublicRange(v4(169, 254, c, d))).toBe('link-local');
        expect(nonPublicRange(v4(0, b, c, d))).toBe('unspecified');
        // Both spellings of the mapped form: dotted, and the hex one WHATWG URLs print.
        const hex = `::ffff:${((127 << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        expect(nonPublicRange(`::ffff:${v4(127, b, c, d)}`)).toBe('loopback');
        expect(nonPublicRange(hex)).toBe('loopback');
        expect(nonPublicRange(new URL(`http://[::ffff:${v4(10, b, c, d)}]/`).hostname.slice(1, -1))).toBe(
          'private',
        );
      }),
    );
  });

  it('passes public IPv4 addresses (outside every listed range)', () => {
    const listed = (a: number, b: number) =>
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b < 128) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b < 32) ||
      (a === 192 && b === 168);
    fc.assert(
      fc.property(octet, octet, octet, octet, (a, b, c, d) => {
        fc.pre(!listed(a, b));
        expect(nonPublicRange(v4(a, b, c, d))).toBeUndefined();
      }),
    );
  });

  it('names IPv6 loopback, unspecified, unique-local and link-local; passes global unicast', () => {
    expect(nonPublicRange('::1')).toBe('loopback');
    expect(nonPublicRange('::')).toBe('unspecified');
    expect(nonPublicRange('fd12:3456:789a::1')).toBe('unique-local');
    expect(nonPublicRange('fc00::5')).toBe('unique-local');
    expect(nonPublicRange('fe80::1')).toBe('link-local');
    expect(nonPublicRange('2001:db8::1')).toBeUndefined();
    expect(nonPublicRange('2606:4700:4700::1111')).toBeUndefined();
    expect(nonPublicRange('not-an-ip')).toBe('not an IP address');
  });
});

describe('RemoteHostAllowList', () => {
  it('matches host names exactly, .suffixes on the domain and its subdomains, IPs in any spelling', () => {
    const list = new RemoteHostAllowList(['Files.Example.com', '.corp.test', '::1', '127.0.0.1']);
    expect(list.allows('files.example.com')).toBe(true);
    expect(list.allows('files.example.com.')).toBe(true);
    expect(list.allows('x.files.example.com')).toBe(false);
    expect(list.allows('example.com')).toBe(false);
    expect(list.allows('corp.test')).toBe(true);
    expect(list.allows('a.b.corp.test')).toBe(true);
    expect(list.allows('evilcorp.test')).toBe(false);
    expect(list.allows('[::1]')).toBe(true);
    expect(list.allows('[0:0:0:0:0:0:0:1]')).toBe(true);
    expect(list.allows('127.0.0.2')).toBe(false);
  });

  it('refuses entries that are not hosts (a configuration error)', () => {
    for (const bad of ['', ' ', 'http://example.com', 'example.com/path', 'user@example.com', '.']) {
      expect(() => new RemoteHostAllowList([bad]), bad).toThrow(/ERR_INVALID_OPTION|files\.allowHosts/);
    }
  });

  it('refuses a host when any address it resolves to is not public', async () => {
    const resolve: ResolveHost = async (host) =>
      host === 'mixed.test'
        ? [
            { address: '93.184.215.14', family: 4 },
            { address: '10.1.2.3', family: 4 },
          ]
        : [{ address: '2606:4700::6810:84e5', family: 6 }];
    const list = new RemoteHostAllowList([], { resolve });
    const mixed = await list.decide(new URL('https://mixed.test/a.pdf'));
    expect(mixed).toEqual({
      allowed: false,
      reason:
        'mixed.test resolves to 10.1.2.3, which is a private address, refused unless the host is allowed (--files-allow-host / files.allowHosts)',
    });
    const fine = await list.decide(new URL('https://public.test/a.pdf'));
    expect(fine.allowed).toBe(true);
    if (fine.allowed) await fine.dispatcher.destroy();
  });
});

describe('resolveFileInputs with uploadRemote, over real loopback HTTP', () => {
  let server: Server;
  let port: number;
  let requests = 0;
  const body = 'remote document body\n';
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/r/report.md') res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const files = readFileVariables({ user_input_form: [{ file: { variable: 'doc', required: true } }] });
  const uploadsSeen: string[] = [];
  const uploads = () =>
    new FileUploads({
      upload: async (_path, { filename }) => {
        uploadsSeen.push(filename);
        return { id: `up-${uploadsSeen.length}`, name: filename, size: body.length } as never;
      },
    });

  it('by default refuses loopback URLs — by IP, by name, IPv6 and IPv4-mapped — before any request', async () => {
    const before = requests;
    const urls = [
      `http://127.0.0.1:${port}/r/report.md`,
      `http://localhost:${port}/r/report.md`,
      `http://[::1]:${port}/r/report.md`,
      `http://[::ffff:127.0.0.1]:${port}/r/report.md`,
      `http://0.0.0.0:${port}/r/report.md`,
    ];
    for (const url of urls) {
      const error = await resolveFileInputs(
        { doc: url },
        { files, root: '/', uploadRemote: true, uploads: uploads() },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, url).toMatchObject({ code: 'ERR_INPUT_INVALID', retryable: false });
      expect((error as Error).message, url).toMatch(
        /^field "doc": downloading http:\/\/\S+ refused: \S+ .*(loopback|unspecified) address, refused unless the host is allowed \(--files-allow-host \/ files\.allowHosts\)$/,
      );
    }
    expect(requests).toBe(before);
  });

  it('downloads from an allowed host, by IP or by name (the allow-list skips the address check)', async () => {
    for (const [allow, url] of [
      ['127.0.0.1', `http://127.0.0.1:${port}/r/report.md`],
      ['localhost', `http://localhost:${port}/r/report.md`],
      ['.localhost', `http://localhost:${port}/r/report.md`],
    ] as const) {
      const before = uploadsSeen.length;
      const out = await resolveFileInputs(
        { doc: url },
        {
          files,
          root: '/',
          uploadRemote: true,
          allowHosts: new RemoteHostAllowList([allow]),
          uploads: uploads(),
        },
      );
      expect(out.doc, allow).toEqual({
        type: 'document',
        transfer_method: 'local_file',
        upload_file_id: `up-${before + 1}`,
      });
      expect(uploadsSeen.at(-1)).toBe('report.md');
    }
  });

  it('pins the connection to the checked address: a DNS answer that changes after the check (rebinding) is not used', async () => {
    // The check's resolver answers public (TEST-NET-3); the system resolver, which an unpinned socket
    // would ask again at connect time, answers loopback for `localhost`, where the server is.
    let lookups = 0;
    const resolve: ResolveHost = async () => {
      lookups++;
      return [{ address: '203.0.113.7', family: 4 }];
    };
    const before = requests;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error('gave up connecting')), 1500);
    const outcome = await resolveFileInputs(
      { doc: `http://localhost:${port}/r/report.md` },
      {
        files,
        root: '/',
        uploadRemote: true,
        allowHosts: new RemoteHostAllowList([], { resolve }),
        uploads: uploads(),
      },
      abort.signal,
    ).then(
      () => 'downloaded',
      () => 'failed',
    );
    clearTimeout(timer);
    // The download went to 203.0.113.7 (unreachable here), never re-resolved to the loopback server.
    expect(outcome).toBe('failed');
    expect(lookups).toBe(1);
    expect(requests).toBe(before);
  });

  it('without uploadRemote fetches nothing: the URL goes to Dify as remote_url whatever it points at', async () => {
    const before = requests;
    const out = await resolveFileInputs(
      { doc: `http://127.0.0.1:${port}/r/report.md` },
      { files, root: '/', uploads: uploads() },
    );
    expect(out.doc).toEqual({
      type: 'document',
      transfer_method: 'remote_url',
      url: `http://127.0.0.1:${port}/r/report.md`,
    });
    expect(requests).toBe(before);
  });
});
