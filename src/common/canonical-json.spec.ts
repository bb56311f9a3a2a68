import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError } from './canonical-json';

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the example of RFC 8785 section 3.2.2 exactly', () => {
    // The input, parsed as a JSON text (so the numbers go through the same parser a verifier uses).
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts member names by UTF-16 code units (RFC 8785 section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const names = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse puts the integer-like "1" first again; read the order from the text instead.
    expect(names).toContain('1');
    const text = canonicalJson(input);
    const order = ['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => text.indexOf(`"${k}":`));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]))).toBe(true);
  });

  it('serialises numbers as ECMAScript does (RFC 8785 appendix B samples)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [123456789012345680000, '123456789012345680000'],
      [9007199254740992, '9007199254740992'],
      [-1.7976931348623157e308, '-1.7976931348623157e+308'],
      [5e-324, '5e-324'],
    ];
    for (const [n, text] of cases) expect(canonicalJson(n)).toBe(text);
  });

  it('has no whitespace, drops undefined members like JSON does, and nests', () => {
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: undefined, e: {} })).toBe('{"b":[1,{"c":"x","d":null}],"e":{}}');
  });

  it('refuses what JSON cannot hold', () => {
    for (const bad of [NaN, Infinity, undefined, () => 1, new Date(0), '\ud800', { x: 'a\udc00b' }, 1n]) {
      expect(() => canonicalJson(bad)).toThrow(CanonicalJsonError);
    }
  });

  it('is stable: parsing its output and canonicalising again gives the same text, whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const once = canonicalJson(v);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
        // Same value as JSON.stringify gives (modulo member order).
        expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 300 },
    );
  });
});
