import { BlockList, isIP } from 'node:net';

/**
 * Address ranges a remote file must not be fetched from unless its host is allowed: the machine itself,
 * its link, and private networks (an SSRF from a gateway that fetches URLs its users send).
 */
const RANGES: readonly (readonly [name: string, prefix: string, bits: number, family: 'ipv4' | 'ipv6'])[] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'], // "this network": connecting to 0.0.0.0 reaches the local host
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['shared (carrier-grade NAT)', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'], // cloud metadata services live here (169.254.169.254)
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
];

const LISTS: readonly (readonly [string, BlockList])[] = RANGES.map(([name, prefix, bits, family]) => {
  const list = new BlockList();
  list.addSubnet(prefix, bits, family);
  return [name, list] as const;
});

/**
 * The kind of non-public range `address` (an IP literal, as DNS answers it) lies in — `'loopback'`,
 * `'link-local'`, `'private'`, `'unique-local'`, `'unspecified'`, `'shared (carrier-grade NAT)'` — or
 * `undefined` for a public address. IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged by their
 * IPv4 address, since connecting to one reaches it.
 * @category files
 */
export function nonPublicRange(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  let ip = address;
  let type: 'ipv4' | 'ipv6' = family === 4 ? 'ipv4' : 'ipv6';
  if (type === 'ipv6') {
    const mapped = mappedIPv4(ip);
    if (mapped !== undefined) {
      ip = mapped;
      type = 'ipv4';
    }
  }
  for (const [name, list] of LISTS) if (list.check(ip, type)) return name;
  return undefined;
}

/** `::ffff:a.b.c.d` or `::ffff:XXXX:XXXX` (the form WHATWG URLs print) as `a.b.c.d`. */
function mappedIPv4(address: string): string | undefined {
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (dotted !== null) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex === null) return undefined;
  const high = Number.parseInt(hex[1]!, 16);
  const low = Number.parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
