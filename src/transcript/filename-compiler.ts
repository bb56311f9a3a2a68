// Parsing, checking (an AST whitelist) and compiling file name templates in an isolated
// Handlebars environment.
import Handlebars from 'handlebars';
import { LRUCache } from 'lru-cache';
import { formatInTimeZone } from './filename-time-zone';
import {
  BLOCK_HELPERS,
  Context,
  DATE_VALUE_NAMES,
  FILENAME_VALUE_NAMES,
  FilenameTemplateError,
  HELPERS,
  HELPER_NAMES,
  HelperName,
  MAX_PAD_WIDTH,
  MAX_TEMPLATE_LENGTH,
  VALUE_MARKS,
  VALUE_NAMES,
} from './filename-values';

// ---------------------------------------------------------------------------------------------
// The template environment

export const env = Handlebars.create();
// Builtins a file name has no use for and that can walk an object graph: gone from this env.
for (const name of ['lookup', 'with', 'each', 'log']) env.unregisterHelper(name);

// The zone for the render in progress. Rendering is synchronous, so a module variable is enough.
let currentZone = 'UTC';

// Runs a compiled template with the zone its date helper uses.
export function renderInZone(fn: Compiled, ctx: Context, timeZone: string): string {
  const previousZone = currentZone;
  currentZone = timeZone;
  try {
    return String(fn(ctx, RUNTIME_OPTIONS));
  } finally {
    currentZone = previousZone;
  }
}

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

export function describe(node: AstNode): string {
  const loc = node.loc as { start?: { line?: number; column?: number } } | undefined;
  return loc?.start ? ` (line ${loc.start.line}, column ${(loc.start.column ?? 0) + 1})` : '';
}

export function nodes(v: unknown): AstNode[] {
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
const compiledCache = new LRUCache<string, Compiled>({ max: 200 });

export function handlebarsMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

export function compile(template: string): Compiled {
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
  compiledCache.set(template, fn);
  return fn;
}
