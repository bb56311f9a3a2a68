import pino from 'pino';
import { logContextFields, withLogContext } from './log-context';

describe('withLogContext', () => {
  it("adds the context's fields to every line logged inside it, across awaits, nested contexts adding theirs", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ mixin: logContextFields }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    await withLogContext({ recordingId: 'r1', companyId: 'acme', chatId: null }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.info('outer');
      await withLogContext({ chatId: 'c1' }, async () => {
        await Promise.resolve();
        log.info({ companyId: 'own' }, 'inner');
      });
      log.info('outer again');
    });
    log.info('outside');
    expect(lines.map((l) => [l.msg, l.recordingId, l.companyId, l.chatId])).toEqual([
      ['outer', 'r1', 'acme', undefined],
      // A call site's own field wins over the context's.
      ['inner', 'r1', 'own', 'c1'],
      ['outer again', 'r1', 'acme', undefined],
      ['outside', undefined, undefined, undefined],
    ]);
  });

  it("keeps a line's own fields out of the context's next lines", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ mixin: logContextFields }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    await withLogContext({ chatId: 'c1', companyId: 'acme' }, async () => {
      log.warn({ chatId: 'other', userId: 'u9' }, 'about another chat');
      await Promise.resolve();
      log.info('next');
      await withLogContext({ recordingId: 'r1' }, async () => {
        log.info({ companyId: 'own' }, 'nested');
        log.info('nested again');
      });
    });
    log.info({ chatId: 'x' }, 'outside');
    log.info('outside again');
    expect(lines.map((l) => [l.msg, l.chatId, l.companyId, l.userId, l.recordingId])).toEqual([
      ['about another chat', 'other', 'acme', 'u9', undefined],
      ['next', 'c1', 'acme', undefined, undefined],
      ['nested', 'c1', 'own', undefined, 'r1'],
      ['nested again', 'c1', 'acme', undefined, 'r1'],
      ['outside', 'x', undefined, undefined, undefined],
      ['outside again', undefined, undefined, undefined, undefined],
    ]);
  });
});
