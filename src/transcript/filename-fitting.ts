// Validating a rendered name and cutting its values to fit the byte limits.
import {
  FORMAT_EXTENSIONS,
  FilenameOptions,
  FilenameTemplateError,
  MANIFEST_EXTENSION,
  MAX_NAME_BYTES,
  MAX_SEGMENT_BYTES,
  MAX_SUFFIX_BYTES,
  SIDECAR_EXTENSION,
  TranscriptFormat,
  VALUE_CLOSE,
  VALUE_OPEN,
} from './filename-values';

// ---------------------------------------------------------------------------------------------
// Validation of the rendered name

const CONTROL_OR_SURROGATE = /[\p{Cc}\p{Cs}\u2028\u2029]/u;

export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function printable(s: string): string {
  const json = JSON.stringify(s);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Validates a normalised relative name (without its extension) and returns it with the extension. */
export function validateName(name: string, extension: string): string {
  if (name.trim() === '') throw new FilenameTemplateError('the file name is empty');
  if (name.startsWith('/')) throw new FilenameTemplateError(`the file name ${printable(name)} is absolute (starts with "/")`);
  if (name.includes('\\')) throw new FilenameTemplateError(`the file name ${printable(name)} contains a backslash`);
  if (CONTROL_OR_SURROGATE.test(name)) {
    throw new FilenameTemplateError(`the file name ${printable(name)} contains a control character`);
  }
  const segments = name.split('/');
  const last = segments.length - 1;
  segments.forEach((segment, i) => {
    if (segment.trim() === '') {
      throw new FilenameTemplateError(
        i === last
          ? `the file name ${printable(name)} ends with "/" (the last segment is empty)`
          : `the file name ${printable(name)} has an empty folder segment`,
      );
    }
    if (segment === '.' || segment === '..') {
      throw new FilenameTemplateError(`the file name ${printable(name)} has a "${segment}" segment`);
    }
    // Names starting with "." are the temporary upload names: Horizon is meant to ignore them.
    if (i === last && segment.startsWith('.')) {
      throw new FilenameTemplateError(`the file name ${printable(name)} starts with "." (a hidden, temporary name)`);
    }
    const bytes = byteLength(i === last ? segment + extension : segment);
    if (bytes > MAX_SEGMENT_BYTES) {
      throw new FilenameTemplateError(
        `a segment of the file name is ${bytes} bytes long (the limit is ${MAX_SEGMENT_BYTES} bytes${i === last ? ' with the extension' : ''}): ${printable(segment)}`,
      );
    }
  });
  const full = name + extension;
  const total = byteLength(full);
  if (total > MAX_NAME_BYTES) {
    throw new FilenameTemplateError(`the file name is ${total} bytes long (the limit is ${MAX_NAME_BYTES} bytes)`);
  }
  return full;
}

// ---------------------------------------------------------------------------------------------
// Cutting values to fit

/** The longest prefix of `s` that fits in `maxBytes` of UTF-8, cut between code points. */
export function cutUtf8(s: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  if (byteLength(s) <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end);
}

interface Piece {
  text: string;
  value: boolean;
  bytes: number;
}

/** Splits a rendered segment into literal text and marked values (marks removed). */
function piecesOf(segment: string): Piece[] {
  const out: Piece[] = [];
  let inValue = false;
  let start = 0;
  const push = (end: number) => {
    if (end > start) {
      const text = segment.slice(start, end);
      out.push({ text, value: inValue, bytes: byteLength(text) });
    }
  };
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === VALUE_OPEN || c === VALUE_CLOSE) {
      push(i);
      inValue = c === VALUE_OPEN;
      start = i + 1;
    }
  }
  push(segment.length);
  return out;
}

/** The largest cap (bytes per value) with which the pieces fit the budget; the longest values are cut first. */
function capFor(pieces: Piece[], budget: number, ceiling: number): number {
  const fits = (cap: number) => pieces.reduce((n, p) => n + (p.value ? Math.min(p.bytes, cap) : p.bytes), 0) <= budget;
  if (fits(ceiling)) return ceiling;
  let lo = 0;
  let hi = ceiling;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function joinPieces(pieces: Piece[], cap: number): string {
  return pieces.map((p) => (p.value && p.bytes > cap ? cutUtf8(p.text, cap) : p.text)).join('');
}

/**
 * Cuts the marked values of a rendered name (extension not included) so that every segment fits in
 * 255 bytes (the last one with `reserve` bytes for its extension) and the whole in 1024 with room
 * for a collision suffix, and spells
 * a segment that its values leave blank as `_` (with `emptyAsBlank`, an empty segment too: a
 * missing value renders as nothing, so it carries no mark). Literal text is left alone: if it alone is too long,
 * validation refuses the name. Returns the name without marks.
 */
export function fitValues(name: string, reserve: number, emptyAsBlank = false): string {
  const segments = name.split('/').map(piecesOf);
  const last = segments.length - 1;
  const maxValue = (ps: Piece[]) => ps.reduce((n, p) => (p.value ? Math.max(n, p.bytes) : n), 0);
  const caps = segments.map((ps, i) => capFor(ps, MAX_SEGMENT_BYTES - (i === last ? reserve : 0), maxValue(ps)));
  const build = (globalCap: number) =>
    segments.map((ps, i) => {
      const hasValue = ps.some((p) => p.value);
      let seg = joinPieces(ps, Math.min(caps[i], globalCap));
      // A segment left empty (a missing value, rendered as nothing) is blank like one of spaces.
      if (emptyAsBlank && seg === '') return '_';
      if (!hasValue) return seg;
      // Blank or dot-only because of its values: a placeholder instead of a refusal.
      if (seg.trim() === '' || seg === '.' || seg === '..') seg = '_';
      // A leading "." that a value cut to nothing left behind (a literal one is refused).
      else if (i === last && seg.startsWith('.') && !(!ps[0].value && ps[0].text.startsWith('.'))) seg = '_' + seg.slice(1);
      return seg;
    });
  // The whole name keeps room for a collision suffix, so that a suffixed name still fits.
  const total = (segs: string[]) => byteLength(segs.join('/')) + reserve + MAX_SUFFIX_BYTES;
  let out = build(Infinity);
  if (total(out) > MAX_NAME_BYTES) {
    // Too long as a whole: one cap over all values, the largest that fits.
    let lo = 0;
    let hi = Math.max(0, ...segments.map(maxValue));
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (total(build(mid)) <= MAX_NAME_BYTES) lo = mid;
      else hi = mid - 1;
    }
    out = build(lo);
  }
  return out.join('/');
}

export function extensionOf(format: TranscriptFormat): string {
  const extension = Object.prototype.hasOwnProperty.call(FORMAT_EXTENSIONS, format) ? FORMAT_EXTENSIONS[format] : undefined;
  if (!extension) throw new FilenameTemplateError(`unknown format "${String(format)}"`);
  return extension;
}

/** Bytes the last segment keeps free for its extension: the format's, or the sidecar's or manifest's if longer. */
export function extensionReserve(extension: string, options: FilenameOptions): number {
  return Math.max(byteLength(extension), options.sidecar ? byteLength(SIDECAR_EXTENSION) : 0, options.manifest ? byteLength(MANIFEST_EXTENSION) : 0);
}
