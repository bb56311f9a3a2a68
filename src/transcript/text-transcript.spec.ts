import fc from 'fast-check';
import { hasLineBreak } from './text-transcript';

const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029/;

describe('hasLineBreak', () => {
  it('answers as the line-break pattern does', () => {
    for (const s of ['', 'plain', 'a\nb', 'a\rb', 'a\r\nb', 'a\u2028b', 'a\u2029b', 'é😀\n', 'é😀', '\u2027\u202a']) {
      expect(hasLineBreak(s)).toBe(LINE_BREAK.test(s));
    }
    const char = fc.constantFrom('a', 'é', '😀', '\n', '\r', '\u2028', '\u2029', '\u0085', '\u000b', ' ');
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }), (chars) => {
        const s = chars.join('');
        expect(hasLineBreak(s)).toBe(LINE_BREAK.test(s));
      }),
      { numRuns: 5000 },
    );
  });
});
