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
import { createHash } from 'node:crypto';
import {
  FORMAT_EXTENSIONS,
  FilenameOptions,
  FilenameTemplateError,
  FilenameValues,
  HOSTILE_FILENAME_VALUES,
  MANIFEST_EXTENSION,
  MAX_NAME_BYTES,
  MAX_SEGMENT_BYTES,
  SAMPLE_FILENAME_VALUES,
  SIDECAR_EXTENSION,
  TranscriptFormat,
  UNSAFE_LITERAL_CHARS,
  VALUE_CLOSE,
  VALUE_OPEN,
  buildContext,
} from './filename-values';
import { assertTimeZone } from './filename-time-zone';
import { renderInZone, compile, handlebarsMessage } from './filename-compiler';
import { byteLength, cutUtf8, extensionOf, extensionReserve, fitValues, printable, validateName } from './filename-fitting';

export {
  FILENAME_VALUE_NAMES,
  FilenameTemplateError,
  FORMAT_EXTENSIONS,
  TRANSCRIPT_FORMATS,
  MAX_NAME_BYTES,
  MAX_PAD_WIDTH,
  MAX_SEGMENT_BYTES,
  MAX_SUFFIX_BYTES,
  MAX_TEMPLATE_LENGTH,
  MANIFEST_EXTENSION,
  SAMPLE_FILENAME_VALUES,
  sanitizeFilenameValue,
  SIDECAR_EXTENSION,
} from './filename-values';
export type { FilenameOptions, FilenameValues, TranscriptFormat } from './filename-values';
export { formatInTimeZone } from './filename-time-zone';
export { cutUtf8 } from './filename-fitting';

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Renders a profile's template to a relative path including the format's extension. Substituted
 * values are cut so that the name (and its sidecar's, if `options.sidecar`) fits.
 * Throws FilenameTemplateError (with `reason`) when the template or the resulting name is refused.
 */
export function renderFilename(
  template: string,
  values: FilenameValues,
  timeZone: string,
  format: TranscriptFormat,
  options: FilenameOptions = {},
  emptyAsBlank = false,
): string {
  const extension = extensionOf(format);
  assertTimeZone(timeZone);
  const fn = compile(template);
  const ctx = buildContext(values);
  let rendered: string;
  try {
    rendered = renderInZone(fn, ctx, timeZone);
  } catch (err) {
    if (err instanceof FilenameTemplateError) throw err;
    throw new FilenameTemplateError(`template error: ${handlebarsMessage(err)}`);
  }
  // Look-alike slashes and format characters in the literal text (a template saved before they
  // were refused) are replaced as in values.
  const normalised = rendered.normalize('NFKC').replace(UNSAFE_LITERAL_CHARS, '_');
  const fitted = fitValues(normalised, extensionReserve(extension, options), emptyAsBlank);
  return validateName(fitted.normalize('NFKC'), extension);
}

/**
 * The name a produced recording is delivered under. A value that is missing for this chat (no
 * label, no customer name) renders as nothing and can leave a folder name empty; rather than fail
 * the delivery, such a segment is spelt `_`, as one that its values leave blank (docs/api.md).
 */
export function deliverableFilename(
  template: string,
  values: FilenameValues,
  timeZone: string,
  format: TranscriptFormat,
  options: FilenameOptions = {},
): string {
  return renderFilename(template, values, timeZone, format, options, true);
}

// The sample values with every value a chat may lack missing (a recording is delivered after the
// chat's end: endedAt is always there).
const MISSING_FILENAME_VALUES: FilenameValues = Object.freeze({
  ...SAMPLE_FILENAME_VALUES,
  externalId: null,
  label: null,
  agentId: null,
  agentLogin: null,
  agentName: null,
  customerId: null,
  customerName: null,
}) as FilenameValues;

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
  return companionFilename(fileName, format, SIDECAR_EXTENSION);
}

/** The manifest's name: the file's name with `.manifest.json` instead of the format's extension, cut to fit. */
export function manifestFilename(fileName: string, format: TranscriptFormat): string {
  return companionFilename(fileName, format, MANIFEST_EXTENSION);
}

// A file that goes with the recording's file: same folder, same stem (cut if the longer extension
// would not fit: names rendered with the option for it leave room, older ones may not).
function companionFilename(fileName: string, format: TranscriptFormat, companionExtension: string): string {
  const extension = extensionOf(format);
  const stemPath = fileName.endsWith(extension) ? fileName.slice(0, -extension.length) : fileName;
  const slash = stemPath.lastIndexOf('/');
  const dir = stemPath.slice(0, slash + 1);
  const reserve = byteLength(companionExtension);
  const stem = cutUtf8(stemPath.slice(slash + 1), Math.min(MAX_SEGMENT_BYTES - reserve, MAX_NAME_BYTES - byteLength(dir) - reserve));
  return dir + (stem.trim() === '' ? '_' : stem) + companionExtension;
}

/**
 * The key under which a recording's file name is reserved (recordings.file_key, unique per company):
 * the SHA-256 (hex) of the name's base. The base is the name without its last extension (`.txt`,
 * `.html`, `.json`) and then without every `.meta`, `.manifest` and `.vcon` left at its end: a
 * recording's file, sidecar and manifest (the stem with the format's extension, `.meta.json`,
 * `.manifest.json`) all have the same base, so two recordings whose sets of files share a name
 * have the same key, and the second one gets a collision suffix. It is coarser than that (`x.txt`
 * and `x.html`, or `x.json` and `x.meta.txt`, have one key), which costs a suffix and nothing else.
 * Migration 1795360000000 computes the same for the rows named before it.
 */
export function fileSetKey(fileName: string): string {
  return createHash('sha256').update(fileSetBase(fileName)).digest('hex');
}

/** See fileSetKey. */
function fileSetBase(fileName: string): string {
  let base = fileName;
  const last = FINAL_EXTENSIONS.find((e) => base.endsWith(e));
  if (last) base = base.slice(0, -last.length);
  for (let tag = INNER_TAGS.find((t) => base.endsWith(t)); tag; tag = INNER_TAGS.find((t) => base.endsWith(t))) base = base.slice(0, -tag.length);
  return base;
}

// Of every extension a recording's files end in (the formats', the sidecar's, the manifest's): the
// last part (`.json`), and what comes before it (`.vcon`, `.meta`, `.manifest`).
const ALL_EXTENSIONS = [...Object.values(FORMAT_EXTENSIONS), SIDECAR_EXTENSION, MANIFEST_EXTENSION];
const FINAL_EXTENSIONS = [...new Set(ALL_EXTENSIONS.map((e) => e.slice(e.lastIndexOf('.'))))];
const INNER_TAGS = [...new Set(ALL_EXTENSIONS.filter((e) => e.lastIndexOf('.') > 0).map((e) => e.slice(0, e.lastIndexOf('.'))))];

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
  // A chat may lack the optional values (no label, no customer, no agent yet): what the template
  // then renders (an {{else}} branch's literal text included) must be a valid name too, as it will
  // be delivered (a segment those values leave empty spelt "_").
  try {
    renderFilename(template, MISSING_FILENAME_VALUES, timeZone, format, options, true);
  } catch (err) {
    if (err instanceof FilenameTemplateError) {
      throw new FilenameTemplateError(`without the values a chat may lack (label, externalId, customer, agent): ${err.reason}`);
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
