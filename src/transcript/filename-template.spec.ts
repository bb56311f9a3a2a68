import fc from 'fast-check';
import {
  checkFilenameTemplate,
  FilenameTemplateError,
  FilenameValues,
  FORMAT_EXTENSIONS,
  renderFilename,
  SAMPLE_FILENAME_VALUES,
  sanitizeFilenameValue,
} from './filename-template';

const BUILT_IN = '{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}';
const CHAT = '3f2b8c1e-6d4a-4e0b-9a7c-2f1d5e8b9c01';

function values(over: Partial<FilenameValues> = {}): FilenameValues {
  return {
    chatId: CHAT,
    externalId: 'EXT-1',
    companyId: 'acme',
    service: 'sales',
    recordingId: 'rec-1',
    recordingName: 'agent',
    label: null,
    agentId: 'agent-1',
    agentLogin: 'jdoe',
    agentName: 'Jane Doe',
    customerId: null,
    customerName: null,
    startedAt: new Date('2026-03-01T23:30:00Z'),
    endedAt: new Date('2026-03-02T00:10:05Z'),
    recordingStartedAt: new Date('2026-03-01T23:31:04Z'),
    ...over,
  };
}

/** Runs fn and returns the FilenameTemplateError it throws (fails the test otherwise). */
function refusal(fn: () => unknown): FilenameTemplateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FilenameTemplateError);
    return err as FilenameTemplateError;
  }
  throw new Error('expected a FilenameTemplateError, but nothing was thrown');
}

const render = (template: string, over: Partial<FilenameValues> = {}, zone = 'UTC') => renderFilename(template, values(over), zone, 'text');

describe('renderFilename: the built-in template', () => {
  it('renders the contract example in Europe/London', () => {
    expect(renderFilename(BUILT_IN, values(), 'Europe/London', 'text')).toBe(`20260301/sales_jdoe_${CHAT}.txt`);
  });

  it('uses the company time zone for the date (Tokyo is already on the next day)', () => {
    expect(renderFilename(BUILT_IN, values(), 'Asia/Tokyo', 'text')).toBe(`20260302/sales_jdoe_${CHAT}.txt`);
    expect(renderFilename(BUILT_IN, values(), 'America/New_York', 'text')).toBe(`20260301/sales_jdoe_${CHAT}.txt`);
  });

  it('adds the extension of each format', () => {
    expect(FORMAT_EXTENSIONS).toEqual({ text: '.txt', json: '.json', html: '.html' });
    expect(renderFilename(BUILT_IN, values(), 'UTC', 'json')).toBe(`20260301/sales_jdoe_${CHAT}.json`);
    expect(renderFilename(BUILT_IN, values(), 'UTC', 'html')).toBe(`20260301/sales_jdoe_${CHAT}.html`);
  });

  it('renders a null value as an empty string', () => {
    expect(render(BUILT_IN, { agentLogin: null })).toBe(`20260301/sales__${CHAT}.txt`);
  });
});

describe('renderFilename: helpers', () => {
  it('date formats with dayjs tokens in the time zone', () => {
    expect(render('{{date startedAt "YYYY-MM-DD_HH-mm-ss"}}')).toBe('2026-03-01_23-30-00.txt');
    expect(render('{{date startedAt "YYYY-MM-DD_HH-mm-ss"}}', {}, 'Asia/Tokyo')).toBe('2026-03-02_08-30-00.txt');
    // Summer time: London is UTC+1 in July.
    expect(render('{{date startedAt "HHmm"}}', { startedAt: new Date('2026-07-01T10:15:00Z') }, 'Europe/London')).toBe('1115.txt');
    // India has a half-hour offset.
    expect(render('{{date recordingStartedAt "HH:mm"}}', {}, 'Asia/Kolkata')).toBe('05:01.txt');
    expect(render('{{date endedAt "YYYY/MM/DD"}}')).toBe('2026/03/02.txt');
  });

  it('date of a null value is empty', () => {
    expect(render('x{{date endedAt "YYYY"}}', { endedAt: null })).toBe('x.txt');
  });

  it('date accepts an ISO string literal', () => {
    expect(render('{{date "2026-01-05T12:00:00Z" "DD.MM.YYYY"}}')).toBe('05.01.2026.txt');
  });

  it('upper and lower', () => {
    expect(render('{{upper service}}-{{lower agentName}}')).toBe('SALES-jane doe.txt');
    expect(render('{{upper (date startedAt "MMM")}}')).toBe('MAR.txt');
  });

  it('pad left-pads with zeros and caps the width at 64', () => {
    expect(render('{{pad externalId 8}}', { externalId: '42' })).toBe('00000042.txt');
    expect(render('{{pad externalId 2}}', { externalId: '12345' })).toBe('12345.txt');
    expect(render('{{pad externalId 1000}}', { externalId: '7' })).toBe('0'.repeat(63) + '7.txt');
    expect(render('{{pad externalId 3}}', { externalId: null })).toBe('000.txt');
  });

  it('if / unless blocks are allowed', () => {
    const t = '{{service}}{{#if label}}_{{label}}{{else}}_nolabel{{/if}}{{#unless customerName}}_anon{{/unless}}';
    expect(render(t, { label: 'vip' })).toBe('sales_vip_anon.txt');
    expect(render(t, { label: null, customerName: 'Bob' })).toBe('sales_nolabel.txt');
  });

  it('every value name can be used', () => {
    const t =
      '{{chatId}} {{externalId}} {{companyId}} {{service}} {{recordingId}} {{recordingName}} {{label}} ' +
      '{{agentId}} {{agentLogin}} {{agentName}} {{customerId}} {{customerName}} {{startedAt}} {{endedAt}} {{recordingStartedAt}}';
    expect(render(t, { label: 'L', customerId: 'C', customerName: 'N' })).toBe(
      `${CHAT} EXT-1 acme sales rec-1 agent L agent-1 jdoe Jane Doe C N ` + '2026-03-01T23:30:00.000Z 2026-03-02T00:10:05.000Z 2026-03-01T23:31:04.000Z.txt',
    );
  });

  it('NFKC-normalises the template text and the values', () => {
    // Fullwidth letters and the "ﬁ" ligature fold to ASCII.
    expect(render('ＡＢ_ﬁle_{{service}}', { service: 'ｓａｌｅｓ' })).toBe('AB_file_sales.txt');
  });
});

describe('renderFilename: values cannot make folders or escape', () => {
  it.each([
    ['a slash', 'a/b', 'a_b'],
    ['a fullwidth solidus (U+FF0F)', 'a\uFF0Fb', 'a_b'],
    ['a small reverse solidus (U+FE68)', 'a\uFE68b', 'a_b'],
    ['a backslash', 'a\\b', 'a_b'],
    ['a fullwidth backslash (U+FF3C)', 'a\uFF3Cb', 'a_b'],
    ['a traversal', '../../etc/passwd', '__.._etc_passwd'],
    ['a control character', 'a\u0000b\nc\u009f', 'a_b_c_'],
    ['a lone surrogate', 'a\uD800b', 'a_b'],
  ])('a value with %s', (_what, service, expected) => {
    expect(render('{{date startedAt "YYYY"}}/{{service}}', { service })).toBe(`2026/${expected}.txt`);
  });

  it.each([
    ['..', '..'],
    ['.', '.'],
    ['fullwidth ．．', '\uFF0E\uFF0E'],
    ['one dot leader ․․ (U+2024)', '\u2024\u2024'],
  ])('a value that is exactly %s becomes "_"', (_what, label) => {
    expect(render('{{label}}/{{chatId}}', { label })).toBe(`_/${CHAT}.txt`);
  });

  it('sanitizeFilenameValue keeps ordinary text', () => {
    expect(sanitizeFilenameValue('Jane Doe (é) ...')).toBe('Jane Doe (é) ...');
    expect(sanitizeFilenameValue('e\u0301')).toBe('é');
  });

  it('property: any unicode values in the built-in template give a safe relative path or a refusal', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('/', '\\', '.', '\uFF0F', '\uFF0E', '\uFE68', '\u2215', '\u0000', ' ', 'a'), maxLength: 8 }),
      fc.constantFrom('.', '..', '/', '\uFF0F', '../..', ''),
    );
    fc.assert(
      fc.property(text, fc.option(text), text, fc.constantFrom<'text' | 'json' | 'html'>('text', 'json', 'html'), (service, agentLogin, chatId, format) => {
        let name: string;
        try {
          name = renderFilename(BUILT_IN, values({ service, agentLogin, chatId }), 'Europe/London', format);
        } catch (err) {
          expect(err).toBeInstanceOf(FilenameTemplateError);
          return;
        }
        const segments = name.split('/');
        expect(segments).toHaveLength(2);
        expect(segments[0]).toBe('20260301');
        expect(name.startsWith('/')).toBe(false);
        expect(name).not.toContain('\\');
        for (const s of segments) {
          expect(s.trim()).not.toBe('');
          expect(s).not.toBe('.');
          expect(s).not.toBe('..');
        }
        expect(name.endsWith(FORMAT_EXTENSIONS[format])).toBe(true);
        expect(name).toBe(name.normalize('NFKC'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('renderFilename: refusals', () => {
  it('an empty template or an empty result', () => {
    expect(refusal(() => render('')).reason).toMatch(/template is empty/);
    expect(refusal(() => render('   ')).reason).toMatch(/template is empty/);
    expect(refusal(() => render('{{label}}', { label: null })).reason).toMatch(/file name is empty/);
    expect(refusal(() => render('{{label}}', { label: '   ' })).reason).toMatch(/file name is empty/);
  });

  it('an absolute name', () => {
    expect(refusal(() => render('/srv/{{chatId}}')).reason).toMatch(/absolute/);
  });

  it('an empty segment', () => {
    expect(refusal(() => render('a//{{chatId}}')).reason).toMatch(/empty folder segment/);
    expect(refusal(() => render('x/{{label}}/{{chatId}}', { label: null })).reason).toMatch(/empty folder segment/);
    // A missing value at the start leaves a leading "/": refused as absolute.
    expect(refusal(() => render('{{label}}/{{chatId}}', { label: null })).reason).toMatch(/absolute/);
    expect(refusal(() => render('a/ /{{chatId}}')).reason).toMatch(/empty folder segment/);
    expect(refusal(() => render('{{chatId}}/')).reason).toMatch(/ends with "\/"/);
  });

  it('a "." or ".." segment', () => {
    expect(refusal(() => render('../{{chatId}}')).reason).toMatch(/"\.\." segment/);
    expect(refusal(() => render('a/../{{chatId}}')).reason).toMatch(/"\.\." segment/);
    expect(refusal(() => render('./{{chatId}}')).reason).toMatch(/"\." segment/);
    // The template's own fullwidth dots fold to ".." under NFKC.
    expect(refusal(() => render('\uFF0E\uFF0E/{{chatId}}')).reason).toMatch(/"\.\." segment/);
    // A dayjs escaped literal in the format is template text too.
    expect(refusal(() => render('{{date startedAt "[..]"}}/x')).reason).toMatch(/"\.\." segment/);
  });

  it('a backslash', () => {
    expect(refusal(() => render('a\\b{{chatId}}')).reason).toMatch(/backslash/);
    expect(refusal(() => render('{{chatId}}\\')).reason).toMatch(/backslash/);
    // "\\{{" is Handlebars' escape for a literal "{{" (nothing is substituted), "\\\\{{" keeps one backslash.
    expect(render('a\\{{chatId}}')).toBe('a{{chatId}}.txt');
    expect(refusal(() => render('a\\\\{{chatId}}')).reason).toMatch(/backslash/);
    expect(refusal(() => render('a\uFF3C{{chatId}}')).reason).toMatch(/backslash/);
  });

  it('a control character in the template text', () => {
    expect(refusal(() => render('a\n{{chatId}}')).reason).toMatch(/control character/);
  });

  it('a segment over 255 bytes (with the extension on the last one)', () => {
    expect(render('x'.repeat(251))).toBe('x'.repeat(251) + '.txt'); // exactly 255 bytes
    expect(refusal(() => render('x'.repeat(252))).reason).toMatch(/256 bytes.*255/);
    expect(refusal(() => render('x'.repeat(256) + '/a')).reason).toMatch(/256 bytes/);
    // Multi-byte characters count as bytes, not characters: 86 × 3 bytes = 258.
    expect(refusal(() => render('€'.repeat(86) + '/a')).reason).toMatch(/258 bytes/);
    // A long value breaks the limit at render time.
    expect(refusal(() => render('{{customerName}}', { customerName: 'é'.repeat(200) })).reason).toMatch(/bytes/);
  });

  it('a name over 1024 bytes in total', () => {
    const seg = 'y'.repeat(200);
    expect(refusal(() => render([seg, seg, seg, seg, seg, seg].join('/'))).reason).toMatch(/1024/);
  });

  it('an invalid time zone', () => {
    expect(refusal(() => render(BUILT_IN, {}, 'Mars/Olympus')).reason).toMatch(/invalid time zone "Mars\/Olympus"/);
    expect(refusal(() => render(BUILT_IN, {}, '')).reason).toMatch(/time zone/);
  });

  it.each([
    ['{{constructor.constructor "return process"}}', /nested paths/],
    ['{{#with this}}{{__proto__}}{{/with}}', /"\{\{#with\}\}" is not allowed/],
    ['{{lookup this "__proto__"}}', /unknown helper "lookup"/],
    ['{{__proto__}}', /unknown value "__proto__"/],
    ['{{constructor}}', /unknown value "constructor"/],
    ['{{[constructor]}}', /unknown value "constructor"/],
    ['{{this}}', /"this" is not allowed/],
    ['{{@root}}', /data variables/],
    ['{{../chatId}}', /parent paths/],
    ['{{chatId.length}}', /nested paths/],
    ['{{#each this}}{{this}}{{/each}}', /"\{\{#each\}\}" is not allowed/],
    ['{{#chatId}}{{length}}{{/chatId}}', /"\{\{#chatId\}\}" is not allowed/],
    ['{{log "hello"}}', /unknown helper "log"/],
    ['{{> partial}}', /partials are not allowed/],
    ['{{*decorator}}', /not allowed|unsupported/],
    ['{{{{raw}}}}{{chatId}}{{{{/raw}}}}', /"\{\{#raw\}\}" is not allowed/],
    ['{{#if label as |x|}}{{x}}{{/if}}', /block parameters/],
    ['{{upper service extra=1}}', /named/],
  ])('refuses the hostile template %s', (template, reason) => {
    expect(refusal(() => render(template)).reason).toMatch(reason);
  });

  it('refuses unknown helpers and values, naming them', () => {
    expect(refusal(() => render('{{shout service}}')).reason).toMatch(/unknown helper "shout"/);
    expect(refusal(() => render('{{agentlogin}}')).reason).toMatch(/unknown value "agentlogin".*known values: chatId/);
  });

  it('refuses wrong helper arguments', () => {
    expect(refusal(() => render('{{date startedAt}}')).reason).toMatch(/date.*2 arguments/);
    expect(refusal(() => render('{{date startedAt YYYY}}')).reason).toMatch(/quoted format/);
    expect(refusal(() => render('{{date startedAt chatId}}')).reason).toMatch(/quoted format/);
    expect(refusal(() => render('{{date service "YYYY"}}')).reason).toMatch(/needs a date value/);
    expect(refusal(() => render('{{date "yesterday" "YYYY"}}')).reason).toMatch(/not a date/);
    expect(refusal(() => render('{{pad chatId "8"}}')).reason).toMatch(/width/);
    expect(refusal(() => render('{{upper}}')).reason).toMatch(/upper.*1 argument/);
    expect(refusal(() => render('{{#if}}x{{/if}}')).reason).toMatch(/exactly one value/);
  });

  it('refuses a syntax error', () => {
    expect(refusal(() => render('{{chatId')).reason).toMatch(/syntax error/);
    expect(refusal(() => render('{{#if label}}x')).reason).toMatch(/syntax error/);
  });

  it('the error message carries the reason', () => {
    const err = refusal(() => render('/abs'));
    expect(err.message).toContain(err.reason);
    expect(err.name).toBe('FilenameTemplateError');
  });
});

describe('checkFilenameTemplate', () => {
  it('returns an example rendered with the sample values', () => {
    expect(checkFilenameTemplate(BUILT_IN, 'text')).toEqual({
      example: `20260301/sales_jdoe_${SAMPLE_FILENAME_VALUES.chatId}.txt`,
    });
    expect(checkFilenameTemplate(BUILT_IN, 'html', 'Asia/Tokyo').example).toBe(`20260302/sales_jdoe_${SAMPLE_FILENAME_VALUES.chatId}.html`);
  });

  it('accepts templates whose values carry separators (they are sanitised)', () => {
    expect(checkFilenameTemplate('{{companyId}}/{{externalId}}/{{customerName}}_{{agentName}}', 'json').example).toBe(
      'acme/EXT-42817/Alice Martin_Jane Doe.json',
    );
  });

  it.each([
    ['', /template is empty/],
    ['/{{chatId}}', /absolute/],
    ['a/../{{chatId}}', /"\.\." segment/],
    ['a\\b{{chatId}}', /backslash/],
    ['x'.repeat(256), /bytes/],
    ['{{constructor.constructor "return process"}}', /nested paths/],
    ['{{#with this}}{{__proto__}}{{/with}}', /not allowed/],
    ['{{lookup this "__proto__"}}', /unknown helper "lookup"/],
    ['{{nope}}', /unknown value "nope"/],
  ])('refuses %j', (template, reason) => {
    expect(refusal(() => checkFilenameTemplate(template, 'text')).reason).toMatch(reason);
  });

  it('refuses an invalid time zone', () => {
    expect(refusal(() => checkFilenameTemplate(BUILT_IN, 'text', 'Nowhere/Land')).reason).toMatch(/time zone/);
  });

  it('refuses a template that only fails with unusual values', () => {
    // The sample agent name "Jane Doe" fits in 255 bytes; the longer hostile one does not.
    const template = '{{agentName}}' + 'z'.repeat(240);
    expect(renderFilename(template, SAMPLE_FILENAME_VALUES, 'UTC', 'text')).toBe('Jane Doe' + 'z'.repeat(240) + '.txt');
    const err = refusal(() => checkFilenameTemplate(template, 'text'));
    expect(err.reason).toMatch(/^with unusual values: .*bytes/);
  });
});

describe('hidden names', () => {
  it('refuses a file name starting with "." (those are the temporary upload names)', () => {
    expect(() => checkFilenameTemplate('.{{chatId}}', 'text')).toThrow(/starts with "\."/);
    expect(() => checkFilenameTemplate('folder/.hidden', 'text')).toThrow(FilenameTemplateError);
    expect(checkFilenameTemplate('.well/{{chatId}}', 'text').example).toMatch(/^\.well\//);
  });
});
