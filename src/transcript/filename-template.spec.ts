import fc from 'fast-check';
import {
  checkFilenameTemplate,
  deliverableFilename,
  fileSetKey,
  FilenameTemplateError,
  FilenameValues,
  FORMAT_EXTENSIONS,
  renderFilename,
  SAMPLE_FILENAME_VALUES,
  sanitizeFilenameValue,
  sidecarFilename,
  manifestFilename,
  suffixedFilename,
  TRANSCRIPT_FORMATS,
  TranscriptFormat,
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
    expect(FORMAT_EXTENSIONS).toEqual({ text: '.txt', json: '.json', html: '.html', vcon: '.vcon.json' });
    expect(renderFilename(BUILT_IN, values(), 'UTC', 'vcon')).toBe(`20260301/sales_jdoe_${CHAT}.vcon.json`);
    expect(sidecarFilename(`20260301/sales_jdoe_${CHAT}.vcon.json`, 'vcon')).toBe(`20260301/sales_jdoe_${CHAT}.meta.json`);
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
      fc.property(
        text,
        fc.option(text),
        text,
        fc.constantFrom<'text' | 'json' | 'html' | 'vcon'>('text', 'json', 'html', 'vcon'),
        (service, agentLogin, chatId, format) => {
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
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('renderFilename: refusals', () => {
  it('an empty template or an empty result', () => {
    expect(refusal(() => render('')).reason).toMatch(/template is empty/);
    expect(refusal(() => render('   ')).reason).toMatch(/template is empty/);
    expect(refusal(() => render('{{label}}', { label: null })).reason).toMatch(/file name is empty/);
    // A value that leaves its segment blank gives "_" (issue 9 item 15), not a refusal.
    expect(render('{{label}}', { label: '   ' })).toBe('_.txt');
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
    // A long value is cut to fit instead (issue 9 item 15).
    expect(render('{{customerName}}', { customerName: 'é'.repeat(200) })).toBe('é'.repeat(125) + '.txt');
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

  it('accepts a template whose values would be too long: they are cut to fit', () => {
    // The sample agent name "Jane Doe" fits in 255 bytes; the longer hostile one is cut.
    const template = '{{agentName}}' + 'z'.repeat(240);
    expect(renderFilename(template, SAMPLE_FILENAME_VALUES, 'UTC', 'text')).toBe('Jane Doe' + 'z'.repeat(240) + '.txt');
    expect(checkFilenameTemplate(template, 'text').example).toBe('Jane Doe' + 'z'.repeat(240) + '.txt');
  });

  it('refuses a template that only fails with unusual values', () => {
    // A blank folder is spelt "_", but a value that leaves the path absolute is still refused.
    const err = refusal(() => checkFilenameTemplate('{{#if externalId}}/{{/if}}{{chatId}}', 'text'));
    expect(err.reason).toMatch(/absolute/);
  });
});

describe('hidden names', () => {
  it('refuses a file name starting with "." (those are the temporary upload names)', () => {
    expect(() => checkFilenameTemplate('.{{chatId}}', 'text')).toThrow(/starts with "\."/);
    expect(() => checkFilenameTemplate('folder/.hidden', 'text')).toThrow(FilenameTemplateError);
    expect(checkFilenameTemplate('.well/{{chatId}}', 'text').example).toMatch(/^\.well\//);
  });
});

// Issue 9 item 15: every produced recording gets a deliverable name.
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const isWellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;
const FORMATS = ['text', 'json', 'html', 'vcon'] as const;

/** Every segment of the name, its suffixed names and the sidecars' names fits, is valid UTF-8 and is not blank. */
function expectDeliverable(name: string, format: (typeof FORMATS)[number]) {
  const names = [name, sidecarFilename(name, format)];
  for (const suffix of ['3f2b8c1e', '3f2b8c1e-6d4a-4e0b-9a7c-2f1d5e8b9c01', '3f2b8c1e-6d4a-4e0b-9a7c-2f1d5e8b9c01_1796000000000']) {
    const suffixed = suffixedFilename(name, suffix, format, { sidecar: true });
    expect(suffixed.endsWith(`_${suffix}${FORMAT_EXTENSIONS[format]}`)).toBe(true);
    expect(suffixed.split('/').length).toBe(name.split('/').length);
    names.push(suffixed, sidecarFilename(suffixed, format));
  }
  for (const n of names) {
    expect(isWellFormed(n)).toBe(true);
    expect(bytes(n)).toBeLessThanOrEqual(1024);
    for (const seg of n.split('/')) {
      expect(bytes(seg)).toBeLessThanOrEqual(255);
      expect(seg.trim()).not.toBe('');
      expect(['.', '..']).not.toContain(seg);
    }
  }
}

describe('renderFilename: long values are cut to fit (issue 9 item 15)', () => {
  it('a 254-byte name is kept as it is, and its suffixed and sidecar names fit', () => {
    const name = render('x'.repeat(213) + '_{{chatId}}');
    expect(name).toBe('x'.repeat(213) + '_' + CHAT + '.txt');
    expect(bytes(name)).toBe(254);
    expectDeliverable(name, 'text');
    const suffixed = suffixedFilename(name, '3f2b8c1e', 'text');
    expect(bytes(suffixed)).toBe(255);
    expect(suffixed).toBe('x'.repeat(213) + '_' + CHAT.slice(0, 28) + '_3f2b8c1e.txt');
    expect(sidecarFilename(name, 'text')).toBe('x'.repeat(213) + '_' + CHAT.slice(0, 31) + '.meta.json');
  });

  it('a long service or agent login with the built-in template is cut, the chat id kept if it can be', () => {
    const name = render(BUILT_IN, { service: 's'.repeat(300), agentLogin: 'l'.repeat(300) });
    const [folder, file] = name.split('/');
    expect(folder).toBe('20260301');
    expect(bytes(file)).toBeLessThanOrEqual(255);
    // The longest values are cut first: the 36-character chat id stays whole.
    expect(file.endsWith(`_${CHAT}.txt`)).toBe(true);
    expect(file.startsWith('s'.repeat(100))).toBe(true);
    expectDeliverable(name, 'text');
  });

  it('cuts multi-byte values on a code point boundary', () => {
    const name = render('{{customerName}}', { customerName: '😀'.repeat(100) });
    expect(isWellFormed(name)).toBe(true);
    expect(name).toBe('😀'.repeat(62) + '.txt'); // 62 × 4 + 4 = 252 bytes
  });

  it('leaves room for the sidecar extension when the profile has one', () => {
    const name = renderFilename('{{customerName}}', values({ customerName: 'c'.repeat(300) }), 'UTC', 'text', { sidecar: true });
    expect(name).toBe('c'.repeat(245) + '.txt');
    expect(sidecarFilename(name, 'text')).toBe('c'.repeat(245) + '.meta.json');
  });

  it('leaves room for the manifest extension when the profile has one, and names it beside the file', () => {
    const name = renderFilename('{{customerName}}', values({ customerName: 'c'.repeat(300) }), 'UTC', 'text', { sidecar: true, manifest: true });
    expect(name).toBe('c'.repeat(241) + '.txt');
    expect(manifestFilename(name, 'text')).toBe('c'.repeat(241) + '.manifest.json');
    expect(sidecarFilename(name, 'text')).toBe('c'.repeat(241) + '.meta.json');
    expect(manifestFilename('20260301/sales_jdoe_c1.html', 'html')).toBe('20260301/sales_jdoe_c1.manifest.json');
    const suffixed = suffixedFilename(name, 'abcdef12', 'text', { manifest: true });
    expect(bytes(manifestFilename(suffixed, 'text'))).toBeLessThanOrEqual(255);
    expect(manifestFilename(suffixed, 'text')).toBe(suffixed.replace(/\.txt$/, '.manifest.json'));
    // A name made without room for it (a 254-byte one) gets a cut stem rather than a refusal.
    expect(bytes(manifestFilename('x'.repeat(250) + '.txt', 'text'))).toBe(255);
  });

  it('a whitespace-only customer name used as a folder becomes "_"', () => {
    expect(render('{{customerName}}/{{chatId}}', { customerName: '   ' })).toBe(`_/${CHAT}.txt`);
    expect(render('{{customerName}}/{{chatId}}', { customerName: '\u3000' })).toBe(`_/${CHAT}.txt`);
  });

  it('keeps the whole name within 1024 bytes', () => {
    const name = render('{{service}}/{{agentName}}/{{customerName}}/{{label}}/{{chatId}}', {
      service: 'a'.repeat(255),
      agentName: 'b'.repeat(255),
      customerName: 'c'.repeat(255),
      label: 'd'.repeat(255),
    });
    expect(bytes(name)).toBeLessThanOrEqual(1024);
    expectDeliverable(name, 'text');
  });

  it('refuses at save a template whose text without the optional values is not a valid name', () => {
    const check = (t: string) => {
      try {
        checkFilenameTemplate(t, 'text');
        return 'accepted';
      } catch (err) {
        return (err as FilenameTemplateError).reason;
      }
    };
    expect(check('{{#if label}}{{label}}{{else}}..{{/if}}/{{chatId}}')).toMatch(/^without the values a chat may lack .*"\.\." segment/);
    expect(check('{{#if customerName}}{{customerName}}{{else}}x/./y{{/if}}/{{chatId}}')).toMatch(/^without the values a chat may lack .*"\." segment/);
    // Missing values that leave a segment empty are fine: it is spelt "_".
    expect(check('{{label}}/{{customerName}}/{{chatId}}')).toBe('accepted');
    expect(check('{{#if label}}{{label}}{{else}}unlabelled{{/if}}/{{chatId}}')).toBe('accepted');
    expect(check('{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}')).toBe('accepted');
  });

  it('spells a segment that missing values leave empty "_" at delivery, whatever the other values', () => {
    const deliver = (template: string, over: Partial<FilenameValues>) => deliverableFilename(template, values(over), 'UTC', 'text');
    const t = '{{service}}-{{label}}/{{customerName}}/x';
    expect(deliver(t, { service: 'sales', label: null, customerName: null })).toBe('sales-/_/x.txt');
    expect(deliver(t, { service: 'sales', label: null, customerName: 'Alice' })).toBe('sales-/Alice/x.txt');
    expect(deliver('{{label}}/{{chatId}}', { label: null })).toBe(`_/${CHAT}.txt`);
    expect(deliver('{{chatId}}/{{label}}', { label: null })).toBe(`${CHAT}/_.txt`);
    expect(deliver('{{#if label}}{{label}}{{/if}}/{{chatId}}', { label: null })).toBe(`_/${CHAT}.txt`);
    // The word "none" never stands in for a value.
    expect(deliver('{{label}}-{{customerId}}/{{chatId}}', { label: null, customerId: null })).toBe(`-/${CHAT}.txt`);
  });

  it('pad counts the characters of the value only', () => {
    expect(render('{{pad externalId 8}}', { externalId: '42' })).toBe('00000042.txt');
  });

  it('property: for any values, every segment of the name, suffixed names and sidecar names fits 255 bytes, is valid UTF-8 and is not blank', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.string({ unit: fc.constantFrom('é', '😀', ' ', '\u3000', '.', '/', '\u2215', '\u202E', 'a', '\u0301'), maxLength: 300 }),
      fc.constantFrom('', ' ', '.', '..', '\t'),
    );
    const templates = [
      BUILT_IN,
      '{{customerName}}/{{service}}_{{agentLogin}}_{{chatId}}',
      'x'.repeat(200) + '{{service}}',
      '{{service}}/{{agentName}}/{{customerName}}/{{label}}/{{externalId}}/{{chatId}}',
      '{{upper service}}-{{pad customerName 40}}.{{lower agentName}}',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...templates),
        fc.record({ service: text, agentLogin: text, agentName: text, customerName: text, label: text, externalId: text }),
        fc.constantFrom(...FORMATS),
        fc.boolean(),
        (template, over, format, sidecar) => {
          const name = deliverableFilename(template, values(over), 'Europe/London', format, { sidecar });
          expect(name.endsWith(FORMAT_EXTENSIONS[format])).toBe(true);
          expect(name.split('/').length).toBe(template.split('/').length);
          expect(name).not.toMatch(/[\p{Cf}\u2215\u2044\uFDD0\uFDD1]/u);
          expectDeliverable(name, format);
        },
      ),
      { numRuns: 400 },
    );
  });
});

// Issue 9 item 16: look-alike slashes and invisible formatting characters.
describe('renderFilename: look-alike slashes and format characters (issue 9 item 16)', () => {
  it.each([
    ['a division slash (U+2215)', 'a\u2215b'],
    ['a fraction slash (U+2044)', 'a\u2044b'],
    ['a big solidus (U+29F8)', 'a\u29F8b'],
    ['a fullwidth solidus (U+FF0F, "/" after NFKC)', 'a\uFF0Fb'],
    ['a left-to-right embedding (U+202A)', 'a\u202Ab'],
    ['a right-to-left override (U+202E)', 'a\u202Eb'],
    ['a left-to-right isolate (U+2066)', 'a\u2066b'],
    ['a pop directional isolate (U+2069)', 'a\u2069b'],
    ['a left-to-right mark (U+200E)', 'a\u200Eb'],
    ['a right-to-left mark (U+200F)', 'a\u200Fb'],
    ['an Arabic letter mark (U+061C)', 'a\u061Cb'],
    ['a zero-width space (U+200B)', 'a\u200Bb'],
    ['a byte order mark (U+FEFF)', 'a\uFEFFb'],
  ])('a value with %s', (_what, service) => {
    expect(render('{{date startedAt "YYYY"}}/{{service}}', { service })).toBe('2026/a_b.txt');
    expect(sanitizeFilenameValue(service)).toBe('a_b');
  });

  it('a value that would reverse the displayed extension keeps no bidi control', () => {
    const name = render('{{customerName}}', { customerName: 'invoice\u202Etxt.exe' });
    expect(name).toBe('invoice_txt.exe.txt');
  });

  it.each([
    ['a division slash', 'calls\u2215{{chatId}}', /U\+2215/],
    ['a fraction slash', 'calls\u2044{{chatId}}', /U\+2044/],
    ['a right-to-left override', '{{chatId}}\u202Etxt', /U\+202E/],
    ['a left-to-right mark', '\u200E{{chatId}}', /U\+200E/],
    ['a zero-width joiner', '{{chatId}}\u200D', /U\+200D/],
  ])('refuses a template whose literal text holds %s', (_what, template, reason) => {
    expect(refusal(() => checkFilenameTemplate(template, 'text')).reason).toMatch(reason);
  });

  it('replaces them in the literal text of a template saved before they were refused', () => {
    expect(render('calls\u2215\u202E{{externalId}}')).toBe('calls__EXT-1.txt');
  });

  it('property: no look-alike slash or format character survives in a name', () => {
    const chars = [
      'a',
      '\u2215',
      '\u2044',
      '\u29F8',
      '\u202A',
      '\u202B',
      '\u202C',
      '\u202D',
      '\u202E',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
      '\u200E',
      '\u200F',
      '\u061C',
      '\u200B',
      '\u00AD',
    ];
    const valueUnit = fc.constantFrom(...chars, '\uFF0F');
    fc.assert(
      fc.property(
        fc.string({ unit: valueUnit, minLength: 1, maxLength: 20 }),
        fc.string({ unit: fc.constantFrom(...chars), maxLength: 5 }),
        (value, literal) => {
          const name = render(`x${literal}/{{service}}`, { service: value });
          expect(name.split('/').length).toBe(2);
          expect(name).not.toMatch(/[\p{Cf}\u2215\u2044\u29F8]/u);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fileSetKey: one key for the files a recording delivers', () => {
  // The files a recording of this format delivers under `main`: the file, the sidecar, the manifest.
  const setOf = (main: string, format: TranscriptFormat) => [main, sidecarFilename(main, format), manifestFilename(main, format)];
  const mainOf = (stem: string, format: TranscriptFormat) => stem + FORMAT_EXTENSIONS[format];

  it("is the same for a recording's file, sidecar and manifest, in every format", () => {
    for (const format of TRANSCRIPT_FORMATS) {
      for (const stem of ['x', 'a/b/x', 'x.meta', 'x.manifest', 'x.vcon', 'x.json', 'x_0192f3a4', 'x.meta.meta']) {
        const keys = new Set(setOf(mainOf(stem, format), format).map(fileSetKey));
        expect([format, stem, keys.size]).toEqual([format, stem, 1]);
      }
    }
  });

  it("is the same when one recording's file is another's sidecar or manifest (the names the tester found clashing)", () => {
    // Profile S (x, text, sidecar and manifest) against J (x.meta, json) and M (x.manifest, json).
    expect(fileSetKey('x.meta.json')).toBe(fileSetKey('x.txt'));
    expect(fileSetKey('x.manifest.json')).toBe(fileSetKey('x.txt'));
    // A json file whose template ends in .vcon against a vcon recording (and its sidecar).
    expect(fileSetKey(mainOf('y.vcon', 'json'))).toBe(fileSetKey(mainOf('y', 'vcon')));
    // Same template, different formats, both with a sidecar: x.txt + x.meta.json and x.html + x.meta.json.
    expect(fileSetKey('x.html')).toBe(fileSetKey('x.txt'));
  });

  it('differs for names that share no file: other folders, other stems, a collision suffix', () => {
    const keys = [
      'x.txt',
      'a/x.txt',
      'b/x.txt',
      'x_0192f3a4.txt',
      'x.meta_0192f3a4.json',
      suffixedFilename('x.manifest.json', '0192f3a4', 'json'),
      'xmeta.json',
      'x.metax.json',
    ].map(fileSetKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('any two recordings whose sets share a name have the same key', () => {
    const stemPart = fc.constantFrom('x', 'y', '.meta', '.manifest', '.vcon', '.json', '.txt', '.html', '_', 'a/');
    // A stem as a valid name has it: its last segment neither empty nor starting with ".".
    const stem = fc
      .array(stemPart, { minLength: 1, maxLength: 4 })
      .map((p) => 'x' + p.join(''))
      .filter((s) => !/^(\.|$)/.test(s.slice(s.lastIndexOf('/') + 1)));
    const recording = fc.record({ stem, format: fc.constantFrom(...TRANSCRIPT_FORMATS) });
    fc.assert(
      fc.property(recording, recording, (a, b) => {
        const setA = setOf(mainOf(a.stem, a.format), a.format);
        const setB = setOf(mainOf(b.stem, b.format), b.format);
        if (setA.some((n) => setB.includes(n))) expect(fileSetKey(setA[0])).toBe(fileSetKey(setB[0]));
      }),
      { numRuns: 2000 },
    );
  });
});
