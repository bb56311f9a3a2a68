// The values a file name template may use, their sanitising, and the names' shared limits.

export type TranscriptFormat = 'text' | 'json' | 'html' | 'vcon';

// Every format a profile may name, in the order the docs list them.
export const TRANSCRIPT_FORMATS: readonly TranscriptFormat[] = ['text', 'json', 'html', 'vcon'];

export const FORMAT_EXTENSIONS: Record<TranscriptFormat, string> = {
  text: '.txt',
  json: '.json',
  html: '.html',
  // A vCon (IETF draft-ietf-vcon-vcon-core), unsigned JSON form: see docs/vcon.md.
  vcon: '.vcon.json',
};

/** The metadata sidecar replaces the format's extension with this one. */
export const SIDECAR_EXTENSION = '.meta.json';

/** The signed manifest replaces the format's extension with this one (contract section 9). */
export const MANIFEST_EXTENSION = '.manifest.json';

export interface FilenameOptions {
  /** The profile delivers a `.meta.json` sidecar: the last segment leaves room for its extension. */
  sidecar?: boolean;
  /** The profile delivers a `.manifest.json`: room for that extension too. */
  manifest?: boolean;
}

export interface FilenameValues {
  chatId: string;
  externalId: string | null;
  companyId: string;
  service: string;
  recordingId: string;
  recordingName: string;
  label: string | null;
  agentId: string | null;
  agentLogin: string | null;
  agentName: string | null;
  customerId: string | null;
  customerName: string | null;
  startedAt: Date;
  endedAt: Date | null;
  recordingStartedAt: Date;
}

export class FilenameTemplateError extends Error {
  constructor(public readonly reason: string) {
    super(`invalid file name template: ${reason}`);
    this.name = 'FilenameTemplateError';
  }
}

/** The value names a template may use, in the contract's order. */
export const FILENAME_VALUE_NAMES: readonly (keyof FilenameValues)[] = [
  'chatId',
  'externalId',
  'companyId',
  'service',
  'recordingId',
  'recordingName',
  'label',
  'agentId',
  'agentLogin',
  'agentName',
  'customerId',
  'customerName',
  'startedAt',
  'endedAt',
  'recordingStartedAt',
];

export const DATE_VALUE_NAMES = new Set<string>(['startedAt', 'endedAt', 'recordingStartedAt']);
export const VALUE_NAMES = new Set<string>(FILENAME_VALUE_NAMES);
export const HELPERS = ['date', 'upper', 'lower', 'pad'] as const;
export type HelperName = (typeof HELPERS)[number];
export const HELPER_NAMES = new Set<string>(HELPERS);
export const BLOCK_HELPERS = new Set<string>(['if', 'unless']);

export const MAX_TEMPLATE_LENGTH = 2048;
export const MAX_SEGMENT_BYTES = 255;
export const MAX_NAME_BYTES = 1024;
export const MAX_PAD_WIDTH = 64;
// Room kept in the whole name for a collision suffix (`_` + a recording id + `_` + a timestamp).
export const MAX_SUFFIX_BYTES = 64;

/** Realistic values for previews and for `checkFilenameTemplate`. */
export const SAMPLE_FILENAME_VALUES: FilenameValues = Object.freeze({
  chatId: '3f2b8c1e-6d4a-4e0b-9a7c-2f1d5e8b9c01',
  externalId: 'EXT-42817',
  companyId: 'acme',
  service: 'sales',
  recordingId: '9b7e4d2a-1c3f-4a5b-8e6d-7f0a1b2c3d4e',
  recordingName: 'agent',
  label: 'quality',
  agentId: 'agent-1',
  agentLogin: 'jdoe',
  agentName: 'Jane Doe',
  customerId: 'cust-1001',
  customerName: 'Alice Martin',
  startedAt: new Date('2026-03-01T23:30:00Z'),
  endedAt: new Date('2026-03-01T23:52:10Z'),
  recordingStartedAt: new Date('2026-03-01T23:31:04Z'),
}) as FilenameValues;

/**
 * Values with content that tries to make folders or escape: every string value is hostile and
 * non-empty, so a template that is safe with these is safe with whatever a chat brings.
 */
export const HOSTILE_FILENAME_VALUES: FilenameValues = Object.freeze({
  chatId: '../../etc/passwd',
  externalId: '..',
  companyId: '.',
  service: 'a/b\\c',
  recordingId: '\uFF0F\uFF0E\uFF0E\uFF0F',
  recordingName: '\u2024\u2024',
  label: 'x\u0000y\u001b[31m\r\n',
  agentId: '/abs',
  agentLogin: '\uFE68\u2215\u2044',
  agentName: 'Jane / Doe \\ Jr.',
  customerId: '\uD800',
  customerName: '__proto__',
  startedAt: new Date('2026-12-31T23:59:59Z'),
  endedAt: new Date('2027-01-01T00:00:00Z'),
  recordingStartedAt: new Date('2026-12-31T23:59:59Z'),
}) as FilenameValues;

// ---------------------------------------------------------------------------------------------
// Values

// Characters that look like a slash or a backslash but are not one (NFKC already folds U+FF0F and
// U+FE68), and format characters: bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E,
// U+200F, U+061C), zero-width characters, soft hyphen, tags. They are replaced in values, refused
// in a template's literal text when it is saved, and replaced there too when an older template
// renders.
const LOOKALIKE_SLASHES = '\u0337\u0338\u1735\u2044\u20E5\u2215\u2216\u2571\u2572\u27CB\u27CD\u29F5\u29F8\u29F9\u3033';
export const UNSAFE_LITERAL_CHARS = new RegExp(`[\\p{Cf}${LOOKALIKE_SLASHES}]`, 'gu');
// Marks around each substituted value while a name is rendered (Unicode noncharacters, which never
// occur in a value: sanitising replaces them), so that cutting to length can tell values from
// literal text.
export const VALUE_OPEN = '\uFDD0';
export const VALUE_CLOSE = '\uFDD1';
export const VALUE_MARKS = /[\uFDD0\uFDD1]/g;

// '/', '\', C0/C1 controls, line/paragraph separators, lone surrogates, format characters,
// look-alike slashes and noncharacters.
const UNSAFE_VALUE_CHARS = new RegExp(`[/\\\\\\p{Cc}\\p{Cs}\\p{Cf}\\u2028\\u2029\\uFDD0-\\uFDEF\\uFFFE\\uFFFF${LOOKALIKE_SLASHES}]`, 'gu');

/** Sanitises one value: NFKC, path separators and control characters become '_'. */
export function sanitizeFilenameValue(value: string): string {
  const folded = value.normalize('NFKC').replace(UNSAFE_VALUE_CHARS, '_');
  // A leading dot would make a hidden name (or a "." / ".." segment): values never start with one.
  return folded.replace(/^\.+/, '_');
}

export type Context = Record<string, string | null>;

export function buildContext(values: FilenameValues): Context {
  const ctx: Context = Object.create(null) as Context;
  for (const name of FILENAME_VALUE_NAMES) {
    const v = (values as unknown as Record<string, unknown>)[name];
    if (v === null || v === undefined) {
      ctx[name] = null;
    } else if (v instanceof Date) {
      ctx[name] = Number.isNaN(v.getTime()) ? null : v.toISOString();
    } else {
      const clean = sanitizeFilenameValue(String(v));
      // Marked so that cutting to length knows what came from a value; '' stays falsy for {{#if}}.
      ctx[name] = clean === '' ? '' : VALUE_OPEN + clean + VALUE_CLOSE;
    }
  }
  return ctx;
}
