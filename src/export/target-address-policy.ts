import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AllowedTargets, AppConfig } from '../config/app-config';

// Which addresses the service may connect to for an export target. Applied after DNS resolution
// (a name that resolves to a refused address is refused too) wherever a target is saved, checked
// or delivered to; the transport then connects to the address that was checked, not to the name,
// so a second lookup cannot return something else.

export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

// Never a target, whatever the allow-list says: cloud metadata (169.254.169.254), "any" (0.0.0.0),
// multicast and broadcast are not SFTP servers.
const ALWAYS_REFUSED: readonly AddressKind[] = ['link-local', 'unspecified', 'multicast', 'reserved'];
// Refused in production unless the allow-list names them.
const INTERNAL: readonly AddressKind[] = ['loopback', 'private'];

export interface AddressPolicyRules {
  production: boolean;
  allowed: AllowedTargets;
}

// The target's address is refused by policy. Its message names the reason, never the far side's
// behaviour (nothing was sent there).
export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

// The name did not resolve: a network failure like any other for the transport.
export class TargetLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetLookupError';
  }
}

export type LookupFn = (host: string) => Promise<string[]>;

const systemLookup: LookupFn = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

export class TargetAddressPolicy {
  private readonly allowList = new BlockList();
  private readonly allowedNames: Set<string>;

  constructor(
    private readonly rules: AddressPolicyRules,
    private readonly lookup: LookupFn = systemLookup,
  ) {
    for (const c of rules.allowed.cidrs) this.allowList.addSubnet(c.address, c.prefix, c.family);
    this.allowedNames = new Set(rules.allowed.names.map(normalizeName));
  }

  static fromConfig(config: AppConfig): TargetAddressPolicy {
    return new TargetAddressPolicy({ production: config.nodeEnv === 'production', allowed: config.exportTargetAllowedHosts });
  }

  // The addresses of `host` that may be connected to, in resolver order. Throws
  // TargetRefusedError when any of them is refused (a name is judged by all it resolves to), and
  // TargetLookupError when the name does not resolve.
  async resolve(host: string): Promise<string[]> {
    const name = normalizeName(host);
    let addresses: string[];
    if (isIP(unbracket(name))) addresses = [unbracket(name)];
    else {
      try {
        addresses = await this.lookup(name);
      } catch (err) {
        throw new TargetLookupError(`${host} does not resolve: ${(err as Error).message}`);
      }
      if (addresses.length === 0) throw new TargetLookupError(`${host} does not resolve`);
    }
    for (const a of addresses) {
      const reason = this.refusal(name, a);
      if (reason) throw new TargetRefusedError(reason);
    }
    return addresses;
  }

  // For saving a target: a policy refusal is an error, a name that does not resolve (yet) is not;
  // it is judged again at every connection.
  async assertAllowed(host: string): Promise<void> {
    try {
      await this.resolve(host);
    } catch (err) {
      if (err instanceof TargetLookupError) return;
      throw err;
    }
  }

  private refusal(name: string, address: string): string | null {
    const { ip, family } = canonical(address);
    const kind = classifyAddress(ip);
    const named = ip === unbracket(name) ? 'address' : `${name} resolves to a`;
    if (ALWAYS_REFUSED.includes(kind)) return `host is not allowed: ${named === 'address' ? 'the address is' : named} ${kind} address`;
    if (INTERNAL.includes(kind) && this.rules.production && !this.allowedNames.has(name) && !this.allowList.check(ip, family)) {
      return `host is not allowed: ${named === 'address' ? 'the address is' : named} ${kind} address (EXPORT_TARGET_ALLOWED_HOSTS can allow it)`;
    }
    return null;
  }
}

function normalizeName(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, also written ::ffff:7f00:1) is the IPv4 address.
function canonical(address: string): { ip: string; family: 'ipv4' | 'ipv6' } {
  if (isIP(address) === 4) return { ip: address, family: 'ipv4' };
  const words = ipv6Words(address);
  if (words && words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return { ip: v4FromWords(words[6], words[7]), family: 'ipv4' };
  return { ip: address.toLowerCase(), family: 'ipv6' };
}

export function classifyAddress(address: string): AddressKind {
  const { ip, family } = canonical(address);
  return family === 'ipv4' ? classifyV4(ip) : classifyV6(ip);
}

function classifyV4(ip: string): AddressKind {
  const [a, b, c, d] = ip.split('.').map(Number);
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return a === 255 && b === 255 && c === 255 && d === 255 ? 'multicast' : 'reserved';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) return 'private';
  return 'public';
}

function classifyV6(ip: string): AddressKind {
  const w = ipv6Words(ip);
  if (!w) return 'reserved';
  if (w.every((x) => x === 0)) return 'unspecified';
  if (w.slice(0, 7).every((x) => x === 0) && w[7] === 1) return 'loopback';
  // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
  if (w.slice(0, 6).every((x) => x === 0) || (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0))) {
    return classifyV4(v4FromWords(w[6], w[7]));
  }
  if ((w[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((w[0] & 0xff00) === 0xff00) return 'multicast';
  if ((w[0] & 0xfe00) === 0xfc00 || (w[0] & 0xffc0) === 0xfec0) return 'private';
  return 'public';
}

function v4FromWords(hi: number, lo: number): string {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

// The eight 16-bit words of an IPv6 address, or null when it is not one.
function ipv6Words(address: string): number[] | null {
  let s = address.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIP(s) !== 6) return null;
  // A dotted IPv4 tail ('::ffff:1.2.3.4') becomes its two words.
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a, b, c, d] = last.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  if (!s.includes('::')) {
    const words = parse(s);
    return words.length === 8 ? words : null;
  }
  const [head, tail] = s.split('::');
  const left = parse(head);
  const right = parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 1) return null;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}
