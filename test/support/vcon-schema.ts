// Checks a vcon file the way a recipient would: against the JSON Schema kept in the repo
// (docs/schemas/vcon-core-04.schema.json, written from draft-ietf-vcon-vcon-core-04) with ajv, then
// what a schema cannot say: every party, dialog and attachment index points at something, and
// only the draft's own parameters are used (we declare no extension).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export const VCON_SCHEMA_FILE = 'docs/schemas/vcon-core-04.schema.json';

// The repository root, from the source tree or from dist/.
function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, VCON_SCHEMA_FILE))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`${VCON_SCHEMA_FILE} not found above ${__dirname}`);
}

let compiled: ReturnType<Ajv2020['compile']> | null = null;

export function vconSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(repoRoot(), VCON_SCHEMA_FILE), 'utf8')) as Record<string, unknown>;
}

/** The schema's complaints about `doc`, one line each; empty when it validates. */
export function vconSchemaErrors(doc: unknown): string[] {
  if (!compiled) {
    // Strict (an unknown keyword or format is an error), except strictTypes, which would want
    // `type: "object"` repeated in every conditional subschema of the schema.
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
    addFormats(ajv);
    compiled = ajv.compile(vconSchema());
  }
  if (compiled(doc)) return [];
  return (compiled.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

const DRAFT_PARAMETERS = {
  vcon: [
    'vcon',
    'uuid',
    'extensions',
    'critical',
    'created_at',
    'updated_at',
    'subject',
    'redacted',
    'amended',
    'parties',
    'dialog',
    'analysis',
    'attachments',
  ],
  party: ['tel', 'sip', 'stir', 'mailto', 'name', 'did', 'validation', 'gmlpos', 'civicaddress', 'uuid', 'type', 'org', 'dept'],
  dialog: [
    'type',
    'start',
    'duration',
    'parties',
    'originator',
    'recordings',
    'recording_set',
    'mediatype',
    'filename',
    'body',
    'encoding',
    'url',
    'content_hash',
    'disposition',
    'session_id',
    'party_history',
    'transferee',
    'transferor',
    'transfer_target',
    'original',
    'consultation',
    'target_dialog',
    'application',
    'message_id',
  ],
  attachment: ['purpose', 'start', 'party', 'dialog', 'mediatype', 'filename', 'body', 'encoding', 'url', 'content_hash'],
};

interface VconDoc {
  parties?: Record<string, unknown>[];
  dialog?: { parties?: number[]; originator?: number }[];
  attachments?: { party: number; dialog: number }[];
}

/** Schema errors plus broken references and parameters the draft does not define. */
export function vconProblems(doc: unknown): string[] {
  const problems = vconSchemaErrors(doc);
  if (problems.length > 0) return problems;
  const v = doc as VconDoc & Record<string, unknown>;
  const unknownKeys = (where: string, o: Record<string, unknown>, allowed: string[]) => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${where}: "${k}" is not a parameter of the draft`);
  };
  unknownKeys('vcon', v, DRAFT_PARAMETERS.vcon);
  const parties = v.parties ?? [];
  const dialogs = v.dialog ?? [];
  parties.forEach((p, i) => unknownKeys(`parties/${i}`, p, DRAFT_PARAMETERS.party));
  dialogs.forEach((d, i) => {
    unknownKeys(`dialog/${i}`, d as Record<string, unknown>, DRAFT_PARAMETERS.dialog);
    for (const p of d.parties ?? []) if (p >= parties.length) problems.push(`dialog/${i}: party ${p} does not exist`);
    if (d.originator !== undefined && d.originator >= parties.length) problems.push(`dialog/${i}: originator ${d.originator} does not exist`);
  });
  (v.attachments ?? []).forEach((a, i) => {
    unknownKeys(`attachments/${i}`, a as unknown as Record<string, unknown>, DRAFT_PARAMETERS.attachment);
    if (a.party >= parties.length) problems.push(`attachments/${i}: party ${a.party} does not exist`);
    if (a.dialog >= dialogs.length) problems.push(`attachments/${i}: dialog ${a.dialog} does not exist`);
  });
  return problems;
}
