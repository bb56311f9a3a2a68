import { randomUUID } from 'node:crypto';
import { MIN_CARD_DIGITS, redactCardData } from './redact-card-data';

// The card-data masking of free text (redactCardData) can only alter a UUID where MIN_CARD_DIGITS (13)
// or more digits stand together, joined by dashes at most: in a UUID (hex digits and dashes) every
// other character is a letter, which ends a run of digit groups; no card keyword ('cvv', 'code',
// ...) can be spelt with the letters a-f.

export function mayLookLikeCardData(id: string): boolean {
  let run = 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++run >= MIN_CARD_DIGITS) return true;
    } else if (c !== 45) run = 0;
  }
  return false;
}

// About 1 in 350 UUIDs holds a run of digit groups that passes the Luhn check, which the card-data
// masking of free text would alter wherever the id is written (logs, marker details, files): such
// ids are drawn again, so an id of ours reads the same everywhere. Most UUIDs have no run of 13
// digits at all and skip the masking's regexes.
export function newId(): string {
  for (;;) {
    const id = randomUUID();
    if (!mayLookLikeCardData(id) || redactCardData(id) === id) return id;
  }
}
