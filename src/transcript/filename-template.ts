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
//     subfolders: NFKC, then `/`, `\`, control characters and lone surrogates become `_`, and a
//     value that is exactly `.` or `..` becomes `_`.
//  4. The whole rendered name is NFKC-normalised and validated (empty, absolute, empty / `.` / `..`
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

// '/', '\', C0/C1 controls, line/paragraph separators and lone surrogates.
const UNSAFE_VALUE_CHARS = /[/\\\p{Cc}\p{Cs}\u2028\u2029]/gu;

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
      ctx[name] = sanitizeFilenameValue(String(v));
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
  return asText(value).padStart(w, '0');
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
// Public API

/**
 * Renders a profile's template to a relative path including the format's extension.
 * Throws FilenameTemplateError (with `reason`) when the template or the resulting name is refused.
 */
export function renderFilename(template: string, values: FilenameValues, timeZone: string, format: TranscriptFormat): string {
  const extension = FORMAT_EXTENSIONS[format];
  if (!Object.prototype.hasOwnProperty.call(FORMAT_EXTENSIONS, format) || !extension) {
    throw new FilenameTemplateError(`unknown format "${String(format)}"`);
  }
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
  return validateName(rendered.normalize('NFKC'), extension);
}

/**
 * Checks a template when a profile is saved or previewed: it must render a valid name with realistic
 * values, and with hostile values (separators, dots, control characters) it must still render a
 * valid name with exactly as many folders as the template itself makes.
 * Returns an example name; throws FilenameTemplateError with the reason.
 */
export function checkFilenameTemplate(template: string, format: TranscriptFormat, timeZone = 'UTC'): { example: string } {
  const example = renderFilename(template, SAMPLE_FILENAME_VALUES, timeZone, format);
  let hostile: string;
  try {
    hostile = renderFilename(template, HOSTILE_FILENAME_VALUES, timeZone, format);
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
