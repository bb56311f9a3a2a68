// The wording shared by the three formats: time stamps (UTC with the company's zone named), names
// on one line, and the sentence each marker reads as.
import { LRUCache } from 'lru-cache';
import { SenderRole, TranscriptEntry } from './transcript-entry';

/** `2026-03-01T23:30:05Z` (UTC, whole seconds); the JSON format keeps milliseconds. */
export function utcStamp(at: Date): string {
  const iso = at.toISOString();
  return iso.slice(0, 19) + 'Z';
}

// Building an Intl formatter is costly (dayjs's tz() built one per call, the largest single item of
// a small file's rendering in the drain profile); one per zone is kept, false for an invalid zone.
const zoneFormats = new LRUCache<string, Intl.DateTimeFormat | false>({ max: 1000 });
function zoneFormat(timeZone: string): Intl.DateTimeFormat | null {
  let f = zoneFormats.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
      f.format(0);
    } catch {
      f = false;
    }
    zoneFormats.set(timeZone, f);
  }
  return f || null;
}

/** `2026-03-01 23:30:00` in the zone, or null if the zone is unknown. */
export function localTime(at: Date, timeZone: string): string | null {
  const f = timeZone ? zoneFormat(timeZone) : null;
  if (!f) return null;
  const offset = zoneOffset(f, timeZone, at.getTime());
  if (offset === null) return wallClock(f, at);
  const w = new Date(at.getTime() + offset);
  const two = (n: number) => (n < 10 ? '0' : '') + n;
  return `${w.getUTCFullYear()}-${two(w.getUTCMonth() + 1)}-${two(w.getUTCDate())} ${two(w.getUTCHours())}:${two(w.getUTCMinutes())}:${two(w.getUTCSeconds())}`;
}

// The wall clock as Intl formats it (a quarter of a file's rendering time in the drain profile,
// so it is asked once per zone and quarter hour: see zoneOffset).
function wallClock(f: Intl.DateTimeFormat, at: Date): string {
  let year = '';
  let month = '';
  let day = '';
  let hour = '';
  let minute = '';
  let second = '';
  for (const p of f.formatToParts(at)) {
    if (p.type === 'year') year = p.value;
    else if (p.type === 'month') month = p.value;
    else if (p.type === 'day') day = p.value;
    else if (p.type === 'hour') hour = p.value;
    else if (p.type === 'minute') minute = p.value;
    else if (p.type === 'second') second = p.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day} ${hour}:${minute}:${second}`;
}

// A zone's offset from UTC over one quarter hour (ms), from Intl's wall clock at the quarter's first
// and last second: the same at both ends means no change of offset within (zones change offset at
// most a few times a year), so every instant of the quarter is its UTC time plus that offset.
// Null (Intl is asked each time) when the offset changes within the quarter, or for years outside
// 1000-9999 (eras and padding are Intl's business there).
const QUARTER_MS = 15 * 60_000;
const zoneOffsets = new LRUCache<string, number | false>({ max: 10_000 });
function zoneOffset(f: Intl.DateTimeFormat, timeZone: string, t: number): number | null {
  if (!Number.isFinite(t)) return null;
  const start = Math.floor(t / QUARTER_MS) * QUARTER_MS;
  const key = `${timeZone} ${start}`;
  let offset = zoneOffsets.get(key);
  if (offset === undefined) {
    const at = (u: number) => {
      const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(wallClock(f, new Date(u)));
      return m && +m[1] >= 1000 ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - u : null;
    };
    const first = at(start);
    offset = first !== null && first === at(start + QUARTER_MS - 1000) ? first : false;
    zoneOffsets.set(key, offset);
  }
  return offset === false ? null : offset;
}

/** `2026-03-01T23:30:00Z (Europe/London: 2026-03-01 23:30:00)` */
export function stampWithZone(at: Date, timeZone: string): string {
  const local = localTime(at, timeZone);
  return local === null ? `${utcStamp(at)} (time zone ${timeZone || '(none)'})` : `${utcStamp(at)} (${timeZone}: ${local})`;
}

/** Names and details go on one line: line breaks and other control characters become spaces. */
export function oneLine(s: string): string {
  return /[\p{Cc}\u2028\u2029]/u.test(s) ? s.replace(/\r\n|[\p{Cc}\u2028\u2029]/gu, ' ') : s;
}

export function actor(role: SenderRole, name: string): string {
  const n = oneLine(name ?? '').trim();
  return n ? `${role} ${n}` : role;
}

export function agentLabel(a: { id: string; login: string | null; name: string | null }): string {
  if (a.name && a.login) return `${a.name} (${a.login})`;
  if (a.name) return `${a.name} (id ${a.id})`;
  if (a.login) return `${a.login}`;
  return `id ${a.id}`;
}

export function customerLabel(c: { id: string | null; name: string | null }): string {
  if (c.name && c.id) return `${c.name} (id ${c.id})`;
  if (c.name) return c.name;
  if (c.id) return `(unnamed, id ${c.id})`;
  return '(anonymous)';
}

/** The sentence for a marker, without time or dashes, e.g. `recording paused by agent Bob`. */
export function markerSentence(m: Extract<TranscriptEntry, { type: 'marker' }>): string {
  const who = actor(m.actorRole, m.actorName);
  const detail = m.detail === null || m.detail === undefined ? '' : oneLine(m.detail).trim();
  const paren = detail ? ` (${detail})` : '';
  switch (m.kind) {
    case 'join':
      return `${who} joined${paren}`;
    case 'leave':
      return `${who} left${paren}`;
    case 'transfer': {
      const target = detail.replace(/^(transferred\s+)?to\s+/i, '');
      return `transferred by ${who}${target ? ` to ${target}` : ''}`;
    }
    case 'assign': {
      const target = detail.replace(/^(assigned\s+)?to\s+/i, '');
      return `assigned${target ? ` to ${target}` : ''} by ${who}`;
    }
    case 'pause':
      return `recording paused by ${who}${paren}`;
    case 'resume':
      return `recording resumed by ${who}${paren}`;
    case 'consent': {
      const match = /^(granted|refused|requested)\b\s*:?\s*(.*)$/is.exec(detail);
      if (match) {
        const rest = match[2].trim();
        return `consent ${match[1].toLowerCase()} by ${who}${rest ? ` (${rest})` : ''}`;
      }
      return detail ? `consent: ${detail} (${who})` : `consent by ${who}`;
    }
    case 'deletion_request':
      return `${who} asked for deletion${paren}`;
    case 'deletion_confirmed':
      return `deletion confirmed by ${who}${paren}`;
    case 'abuse_flag':
      return `flagged abusive by ${who}${detail ? `: ${detail}` : ''}`;
    case 'recording_start':
      return `recording started by ${who}${detail ? `: ${detail}` : ''}`;
    case 'recording_stop':
      return `recording stopped by ${who}${detail ? `: ${detail}` : ''}`;
    case 'chat_end':
      return `chat ended by ${who}${paren}`;
    // The company switch, flipped by an administrator (the name says so already).
    case 'recording_off':
      return `recording switched off for the company by ${m.actorRole === 'system' ? oneLine(m.actorName).trim() || who : who}${paren}`;
    case 'recording_on':
      return `recording switched on for the company by ${m.actorRole === 'system' ? oneLine(m.actorName).trim() || who : who}${paren}`;
    default:
      return `${oneLine(String((m as { kind: unknown }).kind))} by ${who}${paren}`;
  }
}
