import { AppException } from '../common/app.exception';

// A message's text against the configured limit, the same for sockets and the flow's REST route.
// The limit is in characters (code points), as the contract says: a string's length counts UTF-16
// units, two for a character outside the BMP (an emoji), so a text of 10,000 emoji is 20,000 units.
// Counted only when the units exceed the limit (never otherwise: a code point is one or two units).
export function checkText(text: string, max: number): void {
  if (text.length === 0) throw AppException.badRequest('text must not be empty');
  if (text.length > max && characters(text) > max) throw AppException.badRequest(`text is longer than ${max} characters`);
}

function characters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++, n++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}
