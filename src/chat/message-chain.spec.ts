import fc from 'fast-check';
import { canonicalJson } from '../common/canonical-json';
import { bodyDigest, canonicalAt, canonicalMessage, canonicalTail, CHAIN_ORIGIN, CHAIN_ORIGIN_HEX, nextLink, nextLinkHex } from './message-chain';

// Fixed vectors: the first link was recomputed outside Node with
// (head -c 32 /dev/zero; printf '%s' "$CANONICAL") | sha256sum, as docs/integrity.md shows.
describe('message chain', () => {
  const first = { seq: 1, at: new Date('2026-01-02T03:04:05.678Z'), senderRole: 'customer' as const, senderId: 'cust-1', bodySha256: bodyDigest('hello') };
  const second = { seq: 2, at: new Date('2026-01-02T03:04:06Z'), senderRole: 'agent' as const, senderId: 'agent-é', bodySha256: bodyDigest(null) };

  it('writes the canonical form with sorted keys, ISO times with milliseconds and the body digest', () => {
    expect(bodyDigest('hello')).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(canonicalMessage(first)).toBe(
      '{"at":"2026-01-02T03:04:05.678Z","bodySha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","senderId":"cust-1","senderRole":"customer","seq":1}',
    );
    // Paused: the digest is null; non-ASCII stays as it is (JCS escapes only what JSON must).
    expect(canonicalMessage(second)).toBe('{"at":"2026-01-02T03:04:06.000Z","bodySha256":null,"senderId":"agent-é","senderRole":"agent","seq":2}');
  });

  it('links from 32 zero bytes to the known vector', () => {
    const l1 = nextLink(CHAIN_ORIGIN, first);
    expect(l1.toString('hex')).toBe('d44c31a325ae8d1b11381c40aa7b860e9061d9bc33554a806942d38eebfc7331');
    expect(nextLink(l1, second).toString('hex')).toBe('742c98a046923325f915f9b7f29d6456ad033a617cdafa903e7aad7acae94b7e');
  });

  it('changes the link when any field or the previous link changes', () => {
    const base = nextLink(CHAIN_ORIGIN, first).toString('hex');
    const variants = [
      { ...first, seq: 2 },
      { ...first, at: new Date('2026-01-02T03:04:05.679Z') },
      { ...first, senderRole: 'agent' as const },
      { ...first, senderId: 'cust-2' },
      { ...first, bodySha256: bodyDigest('hello!') },
      { ...first, bodySha256: null },
    ];
    for (const v of variants) expect(nextLink(CHAIN_ORIGIN, v).toString('hex')).not.toBe(base);
    expect(nextLink(Buffer.alloc(32, 1), first).toString('hex')).not.toBe(base);
  });

  it('serialises JSON canonically (RFC 8785 for strings, integers, null, arrays and objects)', () => {
    expect(canonicalJson({ b: [1, 'x', null, true], a: { d: 'é\n"', c: -0 } })).toBe('{"a":{"c":0,"d":"é\\n\\""},"b":[1,"x",null,true]}');
    // Keys sort by UTF-16 code units: "\u20ac" (€) before "\ud83d\ude00" (😀) and after "z".
    expect(canonicalJson({ '😀': 1, '€': 2, z: 3 })).toBe('{"z":3,"€":2,"😀":1}');
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });

  it('writes the canonical form exactly as the general JCS serialiser does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        fc.constantFrom('customer' as const, 'agent' as const, 'supervisor' as const, 'flow' as const),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.option(fc.string({ minLength: 64, maxLength: 64 }), { nil: null }),
        (seq, at, senderRole, senderId, bodySha256) => {
          const f = { seq, at, senderRole, senderId, bodySha256 };
          expect(canonicalMessage(f)).toBe(canonicalJson({ seq, at: at.toISOString(), senderRole, senderId, bodySha256 }));
        },
      ),
    );
  });

  it('gives the same links from the store hex parts as from the fields, whatever the sender id length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 6000, maxLength: 9000 })),
        fc.option(fc.constant(bodyDigest('x') as string), { nil: null }),
        (seq, senderId, bodySha256) => {
          const f = { seq, at: first.at, senderRole: 'agent' as const, senderId, bodySha256 };
          const a = nextLink(CHAIN_ORIGIN, f);
          expect(nextLinkHex(CHAIN_ORIGIN_HEX, canonicalAt(f.at), canonicalTail(f), seq)).toBe(a.toString('hex'));
          expect(nextLinkHex(a.toString('hex'), canonicalAt(f.at), canonicalTail(f), seq + 1)).toBe(nextLink(a, { ...f, seq: seq + 1 }).toString('hex'));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('still links (to a link that will not verify) from a head that is not a link', () => {
    const f = { ...first };
    const good = nextLink(CHAIN_ORIGIN, f).toString('hex');
    for (const bad of ['', 'zz', 'ab'.repeat(10), 'x'.repeat(64)]) {
      const l = nextLinkHex(bad, canonicalAt(f.at), canonicalTail(f), f.seq);
      expect(l).toMatch(/^[0-9a-f]{64}$/);
      expect(l).not.toBe(good);
    }
    expect(nextLink(Buffer.alloc(3), f).toString('hex')).not.toBe(good);
  });
});
