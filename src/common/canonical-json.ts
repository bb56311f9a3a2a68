// RFC 8785 JSON Canonicalization Scheme (JCS): the bytes a manifest's signature covers.
// - object members sorted by their names' UTF-16 code units, no whitespace;
// - strings and numbers serialised as ECMAScript's JSON.stringify does (RFC 8785 section 3.2.2
//   is defined by it), so only values JSON can hold are accepted: no undefined, functions,
//   NaN/Infinity, or lone surrogates (which RFC 8785 section 3.2.2.2 refuses).
export class CanonicalJsonError extends Error {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} cannot be represented in JSON`);
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError('a string holds a lone surrogate');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError('only plain objects, arrays and JSON values are accepted');
      const obj = value as Record<string, unknown>;
      const names = Object.keys(obj).filter((k) => obj[k] !== undefined);
      // Array.prototype.sort compares UTF-16 code units, which is what RFC 8785 section 3.2.3 asks.
      names.sort();
      return `{${names.map((k) => `${canonicalJson(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  throw new CanonicalJsonError(`a ${typeof value} cannot be represented in JSON`);
}
