// Card data redaction (contract section 8): runs on every message before its first write anywhere,
// so it is pure, linear in the text's length (bounded regexes only) and never throws.
//
// Card numbers: 13-19 digits passing the Luhn check, possibly grouped by single spaces or dashes,
// become first 6 + one '*' per hidden digit + last 4, without separators: '411111******1111'.
// Security codes: 3-4 digits right after a card keyword ('cvv 123', 'CVC: 1234') become '[redacted]'.

// A maximal run of digit groups joined by single spaces or dashes, e.g. '4111 1111-1111 1111'.
// An earlier mask ('411111******1111') is matched as a whole by the first alternative and left as
// it is, and a run stops before one, so a second pass finds nothing new: redaction is idempotent.
// Every quantifier is followed by either a distinct character class or the end of the pattern, so
// the engine never backtracks more than a bounded distance.
const MASKED = String.raw`\d{6}\*{3,9}\d{4}(?!\d)`;
const RUN_OR_MASKED = new RegExp(String.raw`(${MASKED})|\d+(?:[ -](?!\d{6}\*)\d+)*`, 'g');
const MASKED_ANYWHERE = new RegExp(MASKED);
const SEPARATOR = /[ -]/;

export const MIN_CARD_DIGITS = 13;
const MAX_CARD_DIGITS = 19;

// Words that introduce a card security code. 'code' alone only counts next to a card number.
const KEYWORD = [
  String.raw`card\s{1,3}verification(?:\s{1,3}(?:code|value|number))?`,
  String.raw`card\s{1,3}security\s{0,3}code`,
  String.raw`security\s{0,3}code`,
  String.raw`cvv2?|cvc2?|cvn2?|cav2|csc`,
  String.raw`code`,
].join('|');
// Optional filler after the keyword ('cvv code', 'cvc number', 'cvv no.').
const FILLER = String.raw`(?:\s{1,3}(?:code|number|num|no\.?))?`;
// What may stand between keyword and digits: 'cvv 123', 'CVC: 1234', 'CVV=123', 'cvv - 123', 'cvv is 123'.
const GAP = String.raw`[\s:=#\-]{0,4}(?:(?:is|was)[\s:=\-]{1,4})?`;
const SECURITY_CODE = new RegExp(String.raw`\b((${KEYWORD})${FILLER}(?![a-z])${GAP})(\d{3,4})(?!\d)`, 'gi');

export function redactCardData(text: string): string {
  if (typeof text !== 'string' || !/\d/.test(text)) return text;
  // Card numbers first, so that a card right after a keyword ('cvv 4111 1111 ...') is masked as a
  // card rather than taken for a security code.
  const masked = text.replace(RUN_OR_MASKED, (match: string, earlierMask: string | undefined) => (earlierMask === undefined ? maskRun(match) : match));
  const cardContext = MASKED_ANYWHERE.test(masked);
  return masked.replace(SECURITY_CODE, (match: string, prefix: string, keyword: string) => {
    // A bare 'code 123' is a security code only in a message that carries a card number.
    if (keyword.toLowerCase() === 'code' && !cardContext) return match;
    return `${prefix}[redacted]`;
  });
}

// Whether an identifier holds a card number, for identifiers, which are refused rather than changed.
// Stricter than the masking of free text, which masks any Luhn-valid slice of a run of digit
// groups: about 1 in 350 random UUIDs holds such a slice ('20554758-3280-4484-8fa2-...'), and an
// identifier the client generated must never be refused by chance. So an identifier is refused only
// for a card number written as people write one: 13-19 digits in one piece, or grouped 4-4-4-4(-3)
// or 4-6-5 / 4-6-4 by single spaces or dashes, with no letter or digit touching it. Every
// identifier refused here would also be masked as free text; no UUID is ever refused.
const IDENTIFIER_CARD = new RegExp(
  [
    String.raw`(?<!\d)\d{13,19}(?!\d)`,
    String.raw`(?<![A-Za-z0-9])\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}(?![A-Za-z0-9])`,
    String.raw`(?<![A-Za-z0-9])\d{4}[ -]\d{6}[ -]\d{4,5}(?![A-Za-z0-9])`,
  ].join('|'),
  'g',
);

export function containsCardNumber(text: string): boolean {
  if (typeof text !== 'string') return false;
  let digits = 0;
  for (let i = 0; i < text.length && digits < MIN_CARD_DIGITS; i++) if (text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) digits++;
  if (digits < MIN_CARD_DIGITS) return false;
  // Every start is tried (matches may overlap: '1234-4111-1111-1111-1111' holds a card from its
  // second group on); the pattern's quantifiers are bounded, so this stays linear.
  IDENTIFIER_CARD.lastIndex = 0;
  for (let m = IDENTIFIER_CARD.exec(text); m !== null; m = IDENTIFIER_CARD.exec(text)) {
    if (luhnValid(m[0].replace(/[ -]/g, ''))) return true;
    IDENTIFIER_CARD.lastIndex = m.index + 1;
  }
  return false;
}

// Masks the card numbers in one run of digit groups. The whole run is a card when it has 13-19
// digits and passes Luhn. Otherwise (a card followed by its expiry or code, '4111 1111 1111 1111
// 123'), whole consecutive groups are tried, left to right, longest first; the digits of a group
// are never split, and a run without separators longer than 19 digits is left alone.
function maskRun(run: string): string {
  if (!SEPARATOR.test(run)) {
    return run.length >= MIN_CARD_DIGITS && run.length <= MAX_CARD_DIGITS && luhnValid(run) ? mask(run) : run;
  }
  const groups = run.split(SEPARATOR);
  const digits = groups.join('');
  const luhn = new LuhnRanges(digits);
  // Where each group ends in `digits`, and the separator that follows it in `run` ('' after the last).
  const groupEnd: number[] = [];
  const separators: string[] = [];
  let inDigits = 0;
  let inRun = 0;
  for (const group of groups) {
    inDigits += group.length;
    inRun += group.length;
    groupEnd.push(inDigits);
    separators.push(run.charAt(inRun));
    inRun += 1;
  }

  let out = '';
  let i = 0;
  while (i < groups.length) {
    const start = i === 0 ? 0 : groupEnd[i - 1];
    let bestEnd = -1;
    for (let j = i; j < groups.length; j++) {
      const length = groupEnd[j] - start;
      if (length > MAX_CARD_DIGITS) break;
      if (length >= MIN_CARD_DIGITS && luhn.valid(start, groupEnd[j])) bestEnd = j;
    }
    if (bestEnd >= 0) {
      out += mask(digits.slice(start, groupEnd[bestEnd])) + separators[bestEnd];
      i = bestEnd + 1;
    } else {
      out += groups[i] + separators[i];
      i += 1;
    }
  }
  return out;
}

// Luhn checks of any slice of a digit string in constant time (prefix sums), so that a long run
// of short groups ('1 1 1 1 ...') stays linear.
class LuhnRanges {
  // evenPlain[x]: sum over positions p < x of the digit as is when p is even, doubled when odd;
  // oddPlain[x]: the other way round.
  private readonly evenPlain: Int32Array;
  private readonly oddPlain: Int32Array;

  constructor(digits: string) {
    const n = digits.length;
    this.evenPlain = new Int32Array(n + 1);
    this.oddPlain = new Int32Array(n + 1);
    for (let p = 0; p < n; p++) {
      const d = digits.charCodeAt(p) - 48;
      const doubled = d * 2 > 9 ? d * 2 - 9 : d * 2;
      const even = p % 2 === 0;
      this.evenPlain[p + 1] = this.evenPlain[p] + (even ? d : doubled);
      this.oddPlain[p + 1] = this.oddPlain[p] + (even ? doubled : d);
    }
  }

  /** Whether digits[start, end) passes Luhn: the last digit is taken as is, every second one before it doubled. */
  valid(start: number, end: number): boolean {
    const sums = (end - 1) % 2 === 0 ? this.evenPlain : this.oddPlain;
    return (sums[end] - sums[start]) % 10 === 0;
  }
}

function mask(digits: string): string {
  return digits.slice(0, 6) + '*'.repeat(digits.length - 10) + digits.slice(-4);
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let k = digits.length - 1; k >= 0; k--) {
    let d = digits.charCodeAt(k) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}
