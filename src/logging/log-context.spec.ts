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
});
