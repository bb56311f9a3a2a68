import fc from 'fast-check';
import { containsCardNumber, redactCardData } from './redact-card-data';

// Reference implementations, written independently of the module under test.
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let k = 0; k < digits.length; k++) {
    let d = Number(digits[digits.length - 1 - k]);
    if (k % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}
function withCheckDigit(body: string): string {
  for (let c = 0; c <= 9; c++) if (luhnValid(body + c)) return body + c;
  throw new Error('unreachable');
}
function expectedMask(digits: string): string {
  return digits.slice(0, 6) + '*'.repeat(digits.length - 10) + digits.slice(-4);
}

describe('redactCardData: card numbers', () => {
  it.each([
    ['Visa with spaces', '4111 1111 1111 1111', '411111******1111'],
    ['Visa without separators', '4111111111111111', '411111******1111'],
    ['Visa with dashes', '4111-1111-1111-1111', '411111******1111'],
    ['mixed single separators', '4111-1111 1111-1111', '411111******1111'],
    ['Mastercard', '5555 5555 5555 4444', '555555******4444'],
    ['Mastercard 2-series', '2223003122003222', '222300******3222'],
    ['Amex, 15 digits in 4-6-5', '3782 822463 10005', '378282*****0005'],
    ['Discover', '6011 0009 9013 9424', '601100******9424'],
    ['13 digits', '4222222222222', '422222***2222'],
    ['19 digits', '6304 0000 0000 0000 018', '630400*********0018'],
  ])('masks a %s', (_name, input, expected) => {
    expect(redactCardData(input)).toBe(expected);
  });

  it('masks a card embedded in a sentence and keeps the sentence', () => {
    expect(redactCardData('My card is 4111 1111 1111 1111, expiry 12/27. Thanks!')).toBe('My card is 411111******1111, expiry 12/27. Thanks!');
    expect(redactCardData('(4111-1111-1111-1111)')).toBe('(411111******1111)');
    expect(redactCardData('card:4111111111111111.')).toBe('card:411111******1111.');
  });

  it('masks two cards in one text', () => {
    expect(redactCardData('Use 4111111111111111 or else 5555-5555-5555-4444 please')).toBe('Use 411111******1111 or else 555555******4444 please');
    expect(redactCardData('4111 1111 1111 1111\n5555 5555 5555 4444')).toBe('411111******1111\n555555******4444');
  });

  it('masks a card followed by its expiry or code in the same run of groups', () => {
    // '4111 1111 1111 1111 12' as a whole has 18 digits and fails Luhn: its card groups are masked
    expect(redactCardData('4111 1111 1111 1111 12/27')).toBe('411111******1111 12/27');
    expect(redactCardData('4111 1111 1111 1111 123')).toBe('411111******1111 123');
    expect(redactCardData('on 5 4111 1111 1111 1111')).toBe('on 5 411111******1111');
  });

  it('leaves a 16-digit number that fails Luhn untouched', () => {
    expect(redactCardData('4111 1111 1111 1112')).toBe('4111 1111 1111 1112');
    expect(redactCardData('ref 1234567812345678')).toBe('ref 1234567812345678');
  });

  it.each(['+44 20 7946 0958', '0044 20 7946 0958', '+1 (555) 123-4567', '+1-555-123-4567', '06 12 34 56 78', '+49 30 901820'])(
    'leaves the phone number %s untouched',
    (phone) => {
      expect(redactCardData(`call me on ${phone} tomorrow`)).toBe(`call me on ${phone} tomorrow`);
    },
  );

  it('leaves short numbers, dates and order ids untouched', () => {
    for (const text of [
      'order 123456789012',
      'order 4111-1111-1111', // 12 digits
      'on 2024-01-15 at 10:30',
      'I have 123 apples and 4567 pears',
      'postcode 75001, room 101',
    ]) {
      expect(redactCardData(text)).toBe(text);
    }
  });

  it('does not cut a card out of a longer run of digits without separators', () => {
    // contains the Luhn-valid 4111111111111111 but is a 21-digit id as a whole
    expect(redactCardData('id 004111111111111111100')).toBe('id 004111111111111111100');
    expect(redactCardData('x' + '1'.repeat(40))).toBe('x' + '1'.repeat(40));
  });

  it('masks text that was masked before only once (idempotent)', () => {
    // 1111 2222 3333 4444 passes Luhn: the last 4 of a mask must not join the groups after it
    const once = redactCardData('4111 1111 1111 1111 2222 3333 4444');
    expect(once).toBe('411111******1111 2222 3333 4444');
    expect(redactCardData(once)).toBe(once);
    expect(redactCardData('411111******1111')).toBe('411111******1111');
  });
});

describe('redactCardData: security codes', () => {
  it.each([
    ['cvv 123', 'cvv [redacted]'],
    ['CVC: 1234', 'CVC: [redacted]'],
    ['cvv2 123', 'cvv2 [redacted]'],
    ['CVC2: 123', 'CVC2: [redacted]'],
    ['CVV=123', 'CVV=[redacted]'],
    ['cvv:123', 'cvv:[redacted]'],
    ['cvv123', 'cvv[redacted]'],
    ['Cvv - 789', 'Cvv - [redacted]'],
    ['my cvv is 456', 'my cvv is [redacted]'],
    ['the CVV code is: 456', 'the CVV code is: [redacted]'],
    ['cvc number 9876', 'cvc number [redacted]'],
    ['security code 123', 'security code [redacted]'],
    ['Security Code: 1234', 'Security Code: [redacted]'],
    ['card verification code: 123', 'card verification code: [redacted]'],
    ['card verification value 321', 'card verification value [redacted]'],
    ['CSC 555', 'CSC [redacted]'],
  ])('redacts %j', (input, expected) => {
    expect(redactCardData(input)).toBe(expected);
  });

  it('redacts the code in a message with a card', () => {
    expect(redactCardData('card 4111 1111 1111 1111 exp 12/27 cvv 123')).toBe('card 411111******1111 exp 12/27 cvv [redacted]');
  });

  it("takes a bare 'code' for a security code only next to a card number", () => {
    expect(redactCardData('4111 1111 1111 1111 code 123')).toBe('411111******1111 code [redacted]');
    expect(redactCardData('4111111111111111, the code is 4321')).toBe('411111******1111, the code is [redacted]');
    expect(redactCardData('your discount code is 123')).toBe('your discount code is 123');
    expect(redactCardData('area code 212')).toBe('area code 212');
  });

  it('does not redact arbitrary numbers', () => {
    for (const text of [
      'I have 123 apples',
      'cvv 12', // too short
      'cvv 12345', // too long
      'cvv\n\n\n\n\n\n123', // too far from the keyword
      'the cvvs are 123', // not the keyword
      'precvv 123', // not a word
      'my pin is 1234',
    ]) {
      expect(redactCardData(text)).toBe(text);
    }
  });

  it('masks a card that follows a keyword as a card, not as a code', () => {
    expect(redactCardData('cvv 4111 1111 1111 1111')).toBe('cvv 411111******1111');
    expect(redactCardData('cvv 123 4111 1111 1111 1111')).toBe('cvv [redacted] 411111******1111');
  });
});

describe('redactCardData: robustness', () => {
  it('never throws on odd strings and keeps them', () => {
    for (const text of ['', '\uD800', '\uDC00 \uD800', '😀 4111 1111 1111 1111 😀', '\u0000', '٤١١١ ١١١١']) {
      expect(() => redactCardData(text)).not.toThrow();
    }
    expect(redactCardData('😀\uD800 4111 1111 1111 1111 \uDFFF')).toBe('😀\uD800 411111******1111 \uDFFF');
    expect(redactCardData('\uD800cvv 123')).toBe('\uD800cvv [redacted]');
  });

  it.each([
    ['digits and single spaces', '1 '.repeat(500_000)],
    ['digits and dashes', '1-'.repeat(500_000)],
    ['one long digit run', '7'.repeat(1_000_000)],
    ['cards', '4111 1111 1111 1111 '.repeat(50_000)],
    ['keywords and codes', 'cvv: is 123 '.repeat(80_000)],
    ['keywords without codes', 'security code is cvv '.repeat(50_000) + '1'],
    ['masks', '411111******1111 '.repeat(60_000)],
    ['stars', '123456*'.repeat(150_000)],
    ['cards with codes', '4111111111111111 code 123 '.repeat(40_000)],
  ])('handles 1 MB of %s without throwing, keeping its shape', (_name, text) => {
    // Speed is measured in bench/; a catastrophic regex would time this test out.
    const out = redactCardData(text);
    expect(typeof out).toBe('string');
    // Only digits, separators and codes change: everything else comes out as it went in.
    const rest = (t: string) => t.replace(/\[redacted\]/g, '').replace(/[\d* -]/g, '');
    expect(rest(out)).toBe(rest(text));
  });
});

// ---- properties -------------------------------------------------------------------------------

const digitHeavyText = fc.string({
  unit: fc.constantFrom(...'0123456789012345678901234567890123456789 -*:cvCVodeis=\n'.split('')),
  maxLength: 80,
});
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), digitHeavyText, fc.string({ maxLength: 200 }));
const noDigits = (s: string) => s.replace(/\d/g, '');
const textWithoutDigits = fc.string({ unit: 'binary', maxLength: 60 }).map(noDigits);

// A Luhn-valid card number of 13-19 digits, written with random single separators.
const cardArb = fc
  .integer({ min: 12, max: 18 })
  .chain((bodyLength) => fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: bodyLength, maxLength: bodyLength }))
  .map(withCheckDigit)
  .chain((digits) =>
    fc.array(fc.constantFrom('', '', '', ' ', '-'), { minLength: digits.length - 1, maxLength: digits.length - 1 }).map((seps) => ({
      digits,
      written: digits
        .split('')
        .map((d, i) => d + (seps[i] ?? ''))
        .join(''),
    })),
  );

describe('redactCardData: properties', () => {
  it('never throws and always returns a string', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(typeof redactCardData(text)).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const once = redactCardData(text);
        expect(redactCardData(once)).toBe(once);
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves text without digits unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(textWithoutDigits, digitHeavyText.map(noDigits)), (text) => {
        expect(redactCardData(text)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('masks every card in a text: none of its digits survive beyond the first 6 and last 4', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(textWithoutDigits, cardArb), { minLength: 1, maxLength: 3 }), textWithoutDigits, (parts, tail) => {
        // A space on either side keeps each card its own run, whatever the text around it.
        const text = parts.map(([before, card]) => `${before} ${card.written} `).join('') + tail;
        const out = redactCardData(text);
        const outDigitsOnly = out.replace(/[ -]/g, '');
        for (const [, card] of parts) {
          expect(out).not.toContain(card.written);
          expect(outDigitsOnly).not.toContain(card.digits);
          expect(out).toContain(` ${expectedMask(card.digits)} `);
        }
        expect(redactCardData(out)).toBe(out);
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves a 13-19 digit number that fails Luhn untouched', () => {
    fc.assert(
      fc.property(cardArb, textWithoutDigits, (card, before) => {
        const last = Number(card.written.slice(-1));
        const broken = card.written.slice(0, -1) + String((last + 1) % 10);
        // Only the last digit changed, so neither the whole number nor (with no group boundary that
        // could leave a Luhn-valid part) anything inside it passes Luhn: check with the reference.
        const digits = broken.replace(/[ -]/g, '');
        const groups = broken.split(/[ -]/);
        let anyValidPart = false;
        for (let i = 0; i < groups.length; i++) {
          let part = '';
          for (let j = i; j < groups.length; j++) {
            part += groups[j];
            if (part.length >= 13 && part.length <= 19 && luhnValid(part)) anyValidPart = true;
          }
        }
        fc.pre(!luhnValid(digits) && !anyValidPart);
        const text = `${before} ${broken} x`;
        expect(redactCardData(text)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('changes only digits: the text between runs of digits stays the same', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: fc.constantFrom(...'01234567890123456789 -*x.\n'.split('')), maxLength: 120 }),
        ),
        (text) => {
          // with no card keyword nearby, only card masks can change anything
          fc.pre(!/cvv|cvc|cvn|cav|csc|code|verification/i.test(text));
          const out = redactCardData(text);
          expect(out.replace(/[\d*\- ]/g, '')).toBe(text.replace(/[\d*\- ]/g, ''));
        },
      ),
      { numRuns: 2000 },
    );
  });

  describe('containsCardNumber (for identifiers, which are refused rather than masked)', () => {
    it.each([
      ['4111111111111111', true],
      ['order-4111111111111111', true],
      ['4111 1111 1111 1111', true],
      ['3782-822463-10005', true],
      ['x4111111111111111y', true],
      ['4111111111111112', false],
      ['411111******1111', false],
      ['agent-1', false],
      ['cvv 123', false],
      ['12345678901234567890123', false],
      ['', false],
    ])('%s: %s', (text, expected) => {
      expect(containsCardNumber(text)).toBe(expected);
    });

    it.each([
      ['4111-1111 1111-1111', true],
      ['4111 1111 1111 1111 123', true],
      ['20554758-3280-4484-8fa2-df8d6afb65d6', false],
      ['e325d9a5-2890-4241-9590-9b302147c7d7', false],
      ['id 1234-4111-1111-1111-1111', true],
      ['ab4111-1111-1111-1111', false],
    ])('written as people write a card: %s: %s', (text, expected) => {
      expect(containsCardNumber(text)).toBe(expected);
    });

    it('refuses only what the masking would mask', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[0-9a-z -]{0,40}$/), (text) => {
          const t = text.replace(/[a-z]/g, 'x');
          if (containsCardNumber(t)) expect(redactCardData(t)).toMatch(/\d{6}\*{3,9}\d{4}/);
        }),
        { numRuns: 2000 },
      );
    });

    it('refuses every card written in one piece or in the usual groups, whatever stands around it', () => {
      const card = fc
        .tuple(fc.constantFrom(13, 14, 15, 16, 19), fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 18, maxLength: 18 }))
        .map(([n, d]) => withCheckDigit(d.slice(0, n - 1)));
      const layout = (c: string, how: number): string => {
        if (how === 0 || c.length < 13) return c;
        if (how === 1 && c.length >= 13) return [c.slice(0, 4), c.slice(4, 8), c.slice(8, 12), c.slice(12)].join(' ');
        if (how === 2 && (c.length === 15 || c.length === 14)) return [c.slice(0, 4), c.slice(4, 10), c.slice(10)].join('-');
        return c;
      };
      fc.assert(
        fc.property(
          card,
          fc.integer({ min: 0, max: 2 }),
          fc.constantFrom('', 'order-', 'x', 'a b '),
          fc.constantFrom('', '-x', 'y', ' end'),
          (c, how, pre, post) => {
            // A grouped card stands apart from letters; one in a single piece may touch them.
            const written = layout(c, how);
            const apart = written === c ? (s: string) => s : (s: string) => (s === 'x' || s === 'y' ? ` ${s} ` : s);
            expect(containsCardNumber(apart(pre) + written + apart(post))).toBe(true);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('never refuses a UUID', () => {
      fc.assert(
        fc.property(fc.uuid(), (id) => {
          expect(containsCardNumber(id)).toBe(false);
        }),
        { numRuns: 20000 },
      );
    });
  });
});
