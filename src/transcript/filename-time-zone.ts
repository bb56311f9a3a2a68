// The time zone a file name's dates are written in.
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import timezone from 'dayjs/plugin/timezone.js';
import { FilenameTemplateError } from './filename-values';

dayjs.extend(utc);
dayjs.extend(timezone);

const validZones = new Set<string>();

export function assertTimeZone(timeZone: string): void {
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
