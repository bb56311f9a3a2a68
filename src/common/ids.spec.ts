import { randomUUID } from 'node:crypto';
import { mayLookLikeCardData, newId } from './ids';
import { redactCardData } from './redact-card-data';

describe('newId', () => {
  it('skips the masking only for UUIDs the masking leaves alone (200,000 random ones)', () => {
    let looked = 0;
    let altered = 0;
    for (let i = 0; i < 200_000; i++) {
      const id = randomUUID();
      const masked = redactCardData(id) !== id;
      if (masked) altered++;
      if (mayLookLikeCardData(id)) looked++;
      // Whatever the masking would alter is looked at.
      else expect(masked).toBe(false);
    }
    // Both sides were seen: some UUIDs hold a card-like run (about 1 in 350), more hold 13 digits.
    expect(altered).toBeGreaterThan(100);
    expect(looked).toBeGreaterThan(altered);
  });

  it('tells a run of 13 digits across dashes from one that a letter cuts', () => {
    // 4111 1111 1111 1111 passes the Luhn check.
    const card = '41111111-1111-1111-a111-0123456789ab';
    expect(mayLookLikeCardData(card)).toBe(true);
    expect(redactCardData(card)).not.toBe(card);
    expect(mayLookLikeCardData('12345678-1234-a234-8234-a23456789012')).toBe(false);
    expect(mayLookLikeCardData('12345678-1234-b534-8234-a2345678901b')).toBe(false);
    expect(mayLookLikeCardData('a2345678-1234-4234-b234-1234567890ab')).toBe(true);
  });

  it('gives UUIDs that read the same after the masking', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(redactCardData(id)).toBe(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
