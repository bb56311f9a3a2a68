import { randomUUID } from 'node:crypto';
import { redactCardData } from './redact-card-data';

// About 1 in 350 UUIDs holds a run of digit groups that passes the Luhn check, which the card-data
// masking of free text would alter wherever the id is written (logs, marker details, files): such
// ids are drawn again, so an id of ours reads the same everywhere.
export function newId(): string {
  for (;;) {
    const id = randomUUID();
    if (redactCardData(id) === id) return id;
  }
}
