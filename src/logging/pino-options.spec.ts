import pino from 'pino';
import { loadConfig } from '../config/app-config';
import { cardMaskingStream, pinoParams, REDACTED_PATHS, withoutSecretsInQuery } from './pino-options';

// The net under the call sites: whatever a line carries, credentials, secrets, bodies and card
// numbers come out redacted.
describe('pino options', () => {
  it('redacts credentials, secrets and bodies wherever the paths name them', () => {
    const lines: string[] = [];
    const log = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, { write: (l: string) => lines.push(l) });
    log.info({
      req: { headers: { authorization: 'Bearer tok-abc', cookie: 'sid=cookie-xyz' }, query: { token: 'tok-q' } },
      handshake: { auth: { token: 'tok-hs' } },
      target: { host: 'h', password: 'pw-123', privateKey: 'KEY-456' },
      body: { text: 'a message body' },
      chatId: 'c1',
      msg: 'x',
    });
    const line = lines.join('');
    for (const secret of ['tok-abc', 'cookie-xyz', 'tok-q', 'tok-hs', 'pw-123', 'KEY-456', 'a message body'])
      expect([secret, line.includes(secret)]).toEqual([secret, false]);
    expect(JSON.parse(line)).toMatchObject({ chatId: 'c1', target: { host: 'h', password: '[redacted]' } });
  });

  it('masks a token in a query string and keeps the rest of the URL', () => {
    expect(withoutSecretsInQuery('/socket.io/?EIO=4&token=abc.def&x=1')).toBe('/socket.io/?EIO=4&token=[redacted]&x=1');
    expect(withoutSecretsInQuery('/v1/admin/recordings?chatId=c1')).toBe('/v1/admin/recordings?chatId=c1');
  });

  it('writes JSON lines with the level by name, and masks card numbers in any field', () => {
    const [options] = pinoParams(loadConfig({ LOG_FORMAT: 'json', INSTANCE_ID: 'i-1' })).pinoHttp as [pino.LoggerOptions];
    const lines: string[] = [];
    const log = pino(options, cardMaskingStream({ write: (l: string) => lines.push(l) }));
    log.info({ url: '/v1/admin/chats/4111111111111111', msg: 'probe 4111 1111 1111 1111' });
    expect(lines.join('')).not.toMatch(/4111111111111111|4111 1111 1111 1111/);
    const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'info', instance: 'i-1', url: '/v1/admin/chats/411111******1111' });
    expect(typeof parsed.time).toBe('string');
  });
});
