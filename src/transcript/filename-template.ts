// File names for delivered recordings (CONTRACT.md section 5).
//
// A recording profile's `filenameTemplate` is a Handlebars template written by a company admin.
// It is rendered with the chat's values to a relative path; the format adds the extension.
//
// Safety, in layers:
//  1. The template is parsed and its AST checked against a whitelist before anything is compiled:
//     only plain content, comments, `{{value}}` for the known value names, the helpers `date`,
//     `upper`, `lower`, `pad`, and `{{#if}}` / `{{#unless}}` blocks on a value. No partials,
//     decorators, data variables (`@root`), parent paths (`../`), nested paths (`a.b`), `this`,
//     hash arguments, block params or other builtins (`lookup`, `with`, `each`, `log`).
//  2. It is compiled in an isolated Handlebars environment (`Handlebars.create()`) that has those
//     other builtins removed, with `knownHelpersOnly` (unknown helpers fail at compile time) and
//     rendered with prototype property and method access denied.
//  3. Values are sanitised before substitution, so that only the template's own literal `/` makes
//     subfolders: NFKC, then `/`, `\`, look-alike slashes, control and format characters (bidi
//     marks, zero-width characters) and lone surrogates become `_`, and a leading `.` becomes `_`.
//  4. Values are cut to fit: each segment (the last one with the longest extension the recording
//     will use: the format's or the sidecar's) stays within 255 bytes and the whole name within
//     1024, by cutting the longest substituted values first, on a code point boundary; a segment
//     that its values leave blank becomes `_`. The template's literal text is never cut.
//  5. The whole rendered name is NFKC-normalised and validated (empty, absolute, empty / `.` / `..`
//     segment, backslash, control character, segment over 255 bytes, total over 1024 bytes).
import Handlebars from 'handlebars';
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import timezone from 'dayjs/plugin/timezone.js';

dayjs.extend(utc);
dayjs.extend(timezone);

export type TranscriptFormat = 'text' | 'json' | 'html';

export const FORMAT_EXTENSIONS: Record<TranscriptFormat, string> = {
  text: '.txt',
  json: '.json',
  html: '.html',
};

/** The metadata sidecar replaces the format's extension with this one. */
export const SIDECAR_EXTENSION = '.meta.json';

export interface FilenameOptions {
  /** The profile delivers a `.meta.json` sidecar: the last segment leaves room for its extension. */
  sidecar?: boolean;
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

const DATE_VALUE_NAMES = new Set<string>(['startedAt', 'endedAt', 'recordingStartedAt']);
const VALUE_NAMES = new Set<string>(FILENAME_VALUE_NAMES);
const HELPERS = ['date', 'upper', 'lower', 'pad'] as const;
type HelperName = (typeof HELPERS)[number];
const HELPER_NAMES = new Set<string>(HELPERS);
const BLOCK_HELPERS = new Set<string>(['if', 'unless']);

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
const HOSTILE_FILENAME_VALUES: FilenameValues = Object.freeze({
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
const UNSAFE_LITERAL_CHARS = new RegExp(`[\\p{Cf}${LOOKALIKE_SLASHES}]`, 'gu');
// Marks around each substituted value while a name is rendered (Unicode noncharacters, which never
// occur in a value: sanitising replaces them), so that cutting to length can tell values from
// literal text.
const VALUE_OPEN = '\uFDD0';
const VALUE_CLOSE = '\uFDD1';
const VALUE_MARKS = /[\uFDD0\uFDD1]/g;

// '/', '\', C0/C1 controls, line/paragraph separators, lone surrogates, format characters,
// look-alike slashes and noncharacters.
const UNSAFE_VALUE_CHARS = new RegExp(`[/\\\\\\p{Cc}\\p{Cs}\\p{Cf}\\u2028\\u2029\\uFDD0-\\uFDEF\\uFFFE\\uFFFF${LOOKALIKE_SLASHES}]`, 'gu');

/** Sanitises one value: NFKC, path separators and control characters become '_'. */
export function sanitizeFilenameValue(value: string): string {
  const folded = value.normalize('NFKC').replace(UNSAFE_VALUE_CHARS, '_');
  // A leading dot would make a hidden name (or a "." / ".." segment): values never start with one.
  return folded.replace(/^\.+/, '_');
}

type Context = Record<string, string | null>;

function buildContext(values: FilenameValues): Context {
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

// ---------------------------------------------------------------------------------------------
// Time zones and the date helper

const validZones = new Set<string>();

function assertTimeZone(timeZone: string): void {
  if (validZones.has(timeZone)) return;
  if (typeof timeZone !== 'string' || timeZone === '') {
    throw new FilenameTemplateError('the time zone is empty');
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone }).format(0);
  } catch {
    throw new FilenameTemplateError(`invalid time zone "${timeZone}"`);
  }
  if (validZones.size > 1000) validZones.clear();
  validZones.add(timeZone);
}

/** Formats a date with dayjs tokens in the given IANA time zone. */
export function formatInTimeZone(date: Date | string, format: string, timeZone: string): string {
  assertTimeZone(timeZone);
  const d = dayjs.utc(date);
  if (!d.isValid()) throw new FilenameTemplateError(`date: "${String(date)}" is not a date`);
  return d.tz(timeZone).format(format);
}

// ---------------------------------------------------------------------------------------------
// The template environment

const env = Handlebars.create();
// Builtins a file name has no use for and that can walk an object graph: gone from this env.
for (const name of ['lookup', 'with', 'each', 'log']) env.unregisterHelper(name);

// The zone for the render in progress. Rendering is synchronous, so a module variable is enough.
let currentZone = 'UTC';

/** Handlebars passes an options object as the last argument of every helper call. */
function helperArgs(name: string, args: unknown[], expected: number): unknown[] {
  const params = args.slice(0, -1);
  if (params.length !== expected) {
    throw new FilenameTemplateError(`${name} takes ${expected} argument${expected === 1 ? '' : 's'}`);
  }
  return params;
}

function asText(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

env.registerHelper('date', function (...args: unknown[]): string {
  const [value, format] = helperArgs('date', args, 2);
  if (typeof format !== 'string') throw new FilenameTemplateError('date: the format must be a string');
  if (value === null || value === undefined || value === '') return '';
  if (!(value instanceof Date) && typeof value !== 'string') {
    throw new FilenameTemplateError('date: the value is not a date');
  }
  return formatInTimeZone(value, format, currentZone);
});
env.registerHelper('upper', function (...args: unknown[]): string {
  const [value] = helperArgs('upper', args, 1);
  return asText(value).toUpperCase();
});
env.registerHelper('lower', function (...args: unknown[]): string {
  const [value] = helperArgs('lower', args, 1);
  return asText(value).toLowerCase();
});
env.registerHelper('pad', function (...args: unknown[]): string {
  const [value, width] = helperArgs('pad', args, 2);
  const n = typeof width === 'number' ? width : Number(width);
  if (!Number.isFinite(n)) throw new FilenameTemplateError('pad: the width must be a number');
  const w = Math.max(0, Math.min(MAX_PAD_WIDTH, Math.floor(n)));
  const text = asText(value);
  // The value marks are not characters of the name: they do not count towards the width.
  const visible = text.replace(VALUE_MARKS, '').length;
  return '0'.repeat(Math.max(0, w - visible)) + text;
});

const COMPILE_OPTIONS = {
  noEscape: true,
  strict: false,
  knownHelpersOnly: true,
  knownHelpers: {
    date: true,
    upper: true,
    lower: true,
    pad: true,
    if: true,
    unless: true,
    each: false,
    with: false,
    lookup: false,
    log: false,
    helperMissing: false,
    blockHelperMissing: false,
  },
};

const RUNTIME_OPTIONS = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
};

// ---------------------------------------------------------------------------------------------
// AST whitelist

// A minimal, loose view of the Handlebars AST: enough to walk it without trusting its shape.
interface AstNode {
  type: string;
  [key: string]: unknown;
}

function describe(node: AstNode): string {
  const loc = node.loc as { start?: { line?: number; column?: number } } | undefined;
  return loc?.start ? ` (line ${loc.start.line}, column ${(loc.start.column ?? 0) + 1})` : '';
}

function nodes(v: unknown): AstNode[] {
  return Array.isArray(v) ? (v as AstNode[]) : [];
}

function checkNoHash(node: AstNode, what: string): void {
  const hash = node.hash as AstNode | undefined;
  if (hash && nodes(hash.pairs).length > 0) {
    throw new FilenameTemplateError(`${what} takes no named (key=value) arguments${describe(node)}`);
  }
}

/** A simple path: one plain name, no `this`, `@data`, `../` or `a.b`. Returns the name. */
function simpleName(path: AstNode): string {
  if (path.type !== 'PathExpression') {
    throw new FilenameTemplateError(`expected a value name, found ${path.type}${describe(path)}`);
  }
  const parts = nodes(path.parts) as unknown as string[];
  const original = String(path.original);
  if (path.data) throw new FilenameTemplateError(`data variables like "${original}" are not allowed${describe(path)}`);
  if (path.depth !== 0 || original.includes('../') || original.startsWith('..')) {
    throw new FilenameTemplateError(`parent paths like "${original}" are not allowed${describe(path)}`);
  }
  if (parts.length === 0) throw new FilenameTemplateError(`"${original}" is not allowed; use a value name${describe(path)}`);
  if (parts.length > 1) throw new FilenameTemplateError(`nested paths like "${original}" are not allowed${describe(path)}`);
  return parts[0];
}

function checkValuePath(path: AstNode): string {
  const name = simpleName(path);
  if (!VALUE_NAMES.has(name)) {
    throw new FilenameTemplateError(`unknown value "${name}"${describe(path)}; known values: ${FILENAME_VALUE_NAMES.join(', ')}`);
  }
  return name;
}

/** An argument: a value name, a literal or a helper sub-expression. */
function checkArgument(arg: AstNode): void {
  switch (arg.type) {
    case 'PathExpression':
      checkValuePath(arg);
      return;
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral':
    case 'NullLiteral':
    case 'UndefinedLiteral':
      return;
    case 'SubExpression':
      checkHelperCall(arg, simpleName(arg.path as AstNode));
      return;
    default:
      throw new FilenameTemplateError(`unsupported argument ${arg.type}${describe(arg)}`);
  }
}

function checkHelperCall(node: AstNode, name: string): void {
  if (!HELPER_NAMES.has(name)) {
    throw new FilenameTemplateError(`unknown helper "${name}"${describe(node)}; helpers: ${HELPERS.join(', ')}`);
  }
  checkNoHash(node, `helper "${name}"`);
  const params = nodes(node.params);
  const helper = name as HelperName;
  const expected = helper === 'date' || helper === 'pad' ? 2 : 1;
  if (params.length !== expected) {
    const usage = { date: 'date VALUE "FORMAT"', upper: 'upper VALUE', lower: 'lower VALUE', pad: 'pad VALUE WIDTH' }[helper];
    throw new FilenameTemplateError(`helper "${name}" takes ${expected} argument${expected === 1 ? '' : 's'}: ${usage}${describe(node)}`);
  }
  checkArgument(params[0]);
  if (helper === 'date' && params[1].type !== 'StringLiteral') {
    throw new FilenameTemplateError(`helper "date" needs a quoted format, e.g. date startedAt "YYYYMMDD"${describe(node)}`);
  }
  if (helper === 'pad' && params[1].type !== 'NumberLiteral') {
    throw new FilenameTemplateError(`helper "pad" needs a number as its width, e.g. pad chatId 8${describe(node)}`);
  }
  if (helper === 'date' && params[0].type === 'PathExpression' && !DATE_VALUE_NAMES.has(simpleName(params[0]))) {
    throw new FilenameTemplateError(`helper "date" needs a date value (${[...DATE_VALUE_NAMES].join(', ')}), not "${simpleName(params[0])}"${describe(node)}`);
  }
}

function checkProgram(program: AstNode | null | undefined): void {
  if (!program) return;
  if (nodes(program.blockParams).length > 0) {
    throw new FilenameTemplateError(`block parameters are not allowed${describe(program)}`);
  }
  for (const stmt of nodes(program.body)) checkStatement(stmt);
}

function checkStatement(stmt: AstNode): void {
  switch (stmt.type) {
    case 'ContentStatement':
    case 'CommentStatement':
      return;
    case 'MustacheStatement': {
      const path = stmt.path as AstNode;
      if (path.type !== 'PathExpression') {
        throw new FilenameTemplateError(`a literal cannot be used as a value or helper${describe(stmt)}`);
      }
      const name = simpleName(path);
      const params = nodes(stmt.params);
      if (HELPER_NAMES.has(name)) {
        checkHelperCall(stmt, name);
      } else if (params.length > 0 || BLOCK_HELPERS.has(name)) {
        throw new FilenameTemplateError(
          `unknown helper "${name}"${describe(stmt)}; helpers: ${HELPERS.join(', ')}` +
            (BLOCK_HELPERS.has(name) ? ` ("${name}" only as a block: {{#${name} value}}...{{/${name}}})` : ''),
        );
      } else {
        checkNoHash(stmt, `value "${name}"`);
        checkValuePath(path);
      }
      return;
    }
    case 'BlockStatement': {
      const path = stmt.path as AstNode;
      const name = simpleName(path);
      if (!BLOCK_HELPERS.has(name)) {
        throw new FilenameTemplateError(`the block "{{#${name}}}" is not allowed${describe(stmt)}; only {{#if value}} and {{#unless value}}`);
      }
      checkNoHash(stmt, `"${name}"`);
      const params = nodes(stmt.params);
      if (params.length !== 1) throw new FilenameTemplateError(`"${name}" takes exactly one value${describe(stmt)}`);
      checkArgument(params[0]);
      checkProgram(stmt.program as AstNode | undefined);
      checkProgram(stmt.inverse as AstNode | undefined);
      return;
    }
    case 'PartialStatement':
    case 'PartialBlockStatement':
      throw new FilenameTemplateError(`partials are not allowed${describe(stmt)}`);
    case 'Decorator':
    case 'DecoratorStatement':
    case 'DecoratorBlock':
      throw new FilenameTemplateError(`decorators are not allowed${describe(stmt)}`);
    default:
      throw new FilenameTemplateError(`unsupported template construct ${stmt.type}${describe(stmt)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation (cached)

type Compiled = (ctx: Context, options: typeof RUNTIME_OPTIONS) => string;
const compiledCache = new Map<string, Compiled>();
const MAX_CACHE = 200;

function handlebarsMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

function compile(template: string): Compiled {
  const cached = compiledCache.get(template);
  if (cached) return cached;
  if (typeof template !== 'string') throw new FilenameTemplateError('the template must be a string');
  if (template.trim() === '') throw new FilenameTemplateError('the template is empty');
  if (template.length > MAX_TEMPLATE_LENGTH) {
    throw new FilenameTemplateError(`the template is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  }
  let ast: AstNode;
  try {
    ast = env.parse(template) as unknown as AstNode;
  } catch (err) {
    throw new FilenameTemplateError(`template syntax error: ${handlebarsMessage(err)}`);
  }
  checkProgram(ast);
  let fn: Compiled;
  try {
    // Compiled from the string only (never from an AST object), with unknown helpers refused.
    fn = env.compile(template, COMPILE_OPTIONS) as unknown as Compiled;
    // Handlebars compiles lazily on the first call: force it now so that errors surface here.
    env.precompile(template, COMPILE_OPTIONS);
  } catch (err) {
    if (err instanceof FilenameTemplateError) throw err;
    throw new FilenameTemplateError(`template error: ${handlebarsMessage(err)}`);
  }
  if (compiledCache.size >= MAX_CACHE) compiledCache.clear();
  compiledCache.set(template, fn);
  return fn;
}

// ---------------------------------------------------------------------------------------------
// Validation of the rendered name

const CONTROL_OR_SURROGATE = /[\p{Cc}\p{Cs}\u2028\u2029]/u;

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function printable(s: string): string {
  const json = JSON.stringify(s);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Validates a normalised relative name (without its extension) and returns it with the extension. */
function validateName(name: string, extension: string): string {
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
 * a segment that its values leave blank as `_`. Literal text is left alone: if it alone is too long,
 * validation refuses the name. Returns the name without marks.
 */
function fitValues(name: string, reserve: number): string {
  const segments = name.split('/').map(piecesOf);
  const last = segments.length - 1;
  const maxValue = (ps: Piece[]) => ps.reduce((n, p) => (p.value ? Math.max(n, p.bytes) : n), 0);
  const caps = segments.map((ps, i) => capFor(ps, MAX_SEGMENT_BYTES - (i === last ? reserve : 0), maxValue(ps)));
  const build = (globalCap: number) =>
    segments.map((ps, i) => {
      const hasValue = ps.some((p) => p.value);
      let seg = joinPieces(ps, Math.min(caps[i], globalCap));
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

function extensionOf(format: TranscriptFormat): string {
  const extension = Object.prototype.hasOwnProperty.call(FORMAT_EXTENSIONS, format) ? FORMAT_EXTENSIONS[format] : undefined;
  if (!extension) throw new FilenameTemplateError(`unknown format "${String(format)}"`);
  return extension;
}

/** Bytes the last segment keeps free for its extension: the format's, or the sidecar's if longer. */
function extensionReserve(extension: string, options: FilenameOptions): number {
  return Math.max(byteLength(extension), options.sidecar ? byteLength(SIDECAR_EXTENSION) : 0);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Renders a profile's template to a relative path including the format's extension. Substituted
 * values are cut so that the name (and its sidecar's, if `options.sidecar`) fits.
 * Throws FilenameTemplateError (with `reason`) when the template or the resulting name is refused.
 */
export function renderFilename(template: string, values: FilenameValues, timeZone: string, format: TranscriptFormat, options: FilenameOptions = {}): string {
  const extension = extensionOf(format);
  assertTimeZone(timeZone);
  const fn = compile(template);
  const ctx = buildContext(values);
  let rendered: string;
  const previousZone = currentZone;
  currentZone = timeZone;
  try {
    rendered = String(fn(ctx, RUNTIME_OPTIONS));
  } catch (err) {
    if (err instanceof FilenameTemplateError) throw err;
    throw new FilenameTemplateError(`template error: ${handlebarsMessage(err)}`);
  } finally {
    currentZone = previousZone;
  }
  // Look-alike slashes and format characters in the literal text (a template saved before they
  // were refused) are replaced as in values.
  const normalised = rendered.normalize('NFKC').replace(UNSAFE_LITERAL_CHARS, '_');
  const fitted = fitValues(normalised, extensionReserve(extension, options));
  return validateName(fitted.normalize('NFKC'), extension);
}

/**
 * The name a produced recording is delivered under. A value that is missing for this chat (no
 * label, no customer id) can leave a folder name empty; rather than fail the delivery, such values
 * are spelt "none" and the name is rendered again.
 */
export function deliverableFilename(
  template: string,
  values: FilenameValues,
  timeZone: string,
  format: TranscriptFormat,
  options: FilenameOptions = {},
): string {
  try {
    return renderFilename(template, values, timeZone, format, options);
  } catch (err) {
    if (!(err instanceof FilenameTemplateError)) throw err;
    const filled = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v === null || v === '' ? 'none' : v])) as unknown as FilenameValues;
    return renderFilename(template, filled, timeZone, format, options);
  }
}

/**
 * The name with `_SUFFIX` before its extension (a second name for a recording whose first name is
 * taken). The file's own part is cut so that the suffix, the extension and the sidecar's extension
 * still fit the limits.
 */
export function suffixedFilename(fileName: string, suffix: string, format: TranscriptFormat, options: FilenameOptions = {}): string {
  const extension = extensionOf(format);
  const stemPath = fileName.endsWith(extension) ? fileName.slice(0, -extension.length) : fileName;
  const slash = stemPath.lastIndexOf('/');
  const dir = stemPath.slice(0, slash + 1);
  const tail = `_${suffix}`;
  const reserve = extensionReserve(extension, options) + byteLength(tail);
  const budget = Math.min(MAX_SEGMENT_BYTES - reserve, MAX_NAME_BYTES - byteLength(dir) - reserve);
  let stem = cutUtf8(stemPath.slice(slash + 1), budget);
  if (stem.trim() === '') stem = '_';
  return dir + stem + tail + extension;
}

/** The sidecar's name: the file's name with `.meta.json` instead of the format's extension, cut to fit. */
export function sidecarFilename(fileName: string, format: TranscriptFormat): string {
  const extension = extensionOf(format);
  const stemPath = fileName.endsWith(extension) ? fileName.slice(0, -extension.length) : fileName;
  const slash = stemPath.lastIndexOf('/');
  const dir = stemPath.slice(0, slash + 1);
  const reserve = byteLength(SIDECAR_EXTENSION);
  const stem = cutUtf8(stemPath.slice(slash + 1), Math.min(MAX_SEGMENT_BYTES - reserve, MAX_NAME_BYTES - byteLength(dir) - reserve));
  return dir + (stem.trim() === '' ? '_' : stem) + SIDECAR_EXTENSION;
}

/**
 * Checks a template when a profile is saved or previewed: it must render a valid name with realistic
 * values, and with hostile values (separators, dots, control characters) it must still render a
 * valid name with exactly as many folders as the template itself makes. Its literal text may not
 * hold look-alike slashes or format characters (bidi controls, zero-width characters).
 * Returns an example name; throws FilenameTemplateError with the reason.
 */
export function checkFilenameTemplate(template: string, format: TranscriptFormat, timeZone = 'UTC', options: FilenameOptions = {}): { example: string } {
  if (typeof template === 'string') {
    const bad = template.normalize('NFKC').match(UNSAFE_LITERAL_CHARS);
    if (bad) {
      const code = (bad[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
      throw new FilenameTemplateError(`the template contains U+${code}, an invisible formatting character or a look-alike of "/"`);
    }
    if (template.includes(VALUE_OPEN) || template.includes(VALUE_CLOSE)) {
      throw new FilenameTemplateError('the template contains a Unicode noncharacter');
    }
  }
  const example = renderFilename(template, SAMPLE_FILENAME_VALUES, timeZone, format, options);
  let hostile: string;
  try {
    hostile = renderFilename(template, HOSTILE_FILENAME_VALUES, timeZone, format, options);
  } catch (err) {
    if (err instanceof FilenameTemplateError) {
      throw new FilenameTemplateError(`with unusual values: ${err.reason}`);
    }
    throw err;
  }
  const depth = (s: string) => s.split('/').length;
  if (depth(hostile) !== depth(example)) {
    // Cannot happen with sanitised values (both renders have every value set); refuse to be sure.
    throw new FilenameTemplateError(`the number of folders depends on the values (${printable(example)} vs ${printable(hostile)})`);
  }
  return { example };
}
