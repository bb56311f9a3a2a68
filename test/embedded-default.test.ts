import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { relativeFilesUnder } from './support/files';
import { AppHandle, cleanupDir, connect, emit, http, next, startApp, token, waitFor } from './support/app';

// With no configuration at all the service runs on a SQLite file and delivers to a local folder.
describe('the embedded default (SQLite + local folder)', () => {
  let app: AppHandle;

  beforeAll(async () => {
    app = await startApp({ env: { DATABASE_URL: '', EXPORT_LOCAL_DIR: '' } });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  it('creates its database, records a chat and writes the transcript to ./data/outbox/<company>/', async () => {
    expect(existsSync(join(app.workDir, 'data', 'webchat.sqlite'))).toBe(true);
    const company = 'newco';
    const flow = token({ sub: 'flow', company, role: 'flow' });
    const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, {
      service: 'billing',
      customer: { name: 'Bob' },
    });
    const { chatId, customerToken } = created.body;
    const customer = await connect(app, '/customer', customerToken);
    const agent = await connect(app, '/agent', token({ sub: 'ann', company, role: 'agent', name: 'Ann', login: 'ann.s' }));
    try {
      await http(app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId: 'ann' });
      expect((await emit(agent, 'chat.join', { chatId })).recordingState).toBe('recording');
      const relayed = next<{ text: string }>(agent, 'message');
      expect((await emit(customer, 'message', { clientMsgId: '1', text: 'My card is 4111 1111 1111 1111, cvv 123' })).ok).toBe(true);
      // Card data is masked before it is stored or relayed.
      expect((await relayed).text).toBe('My card is 411111******1111, cvv [redacted]');
      expect((await emit(agent, 'message', { chatId, clientMsgId: '1', text: 'Thanks Bob' })).ok).toBe(true);
      const ended = next(agent, 'chat.ended');
      expect((await emit(customer, 'chat.end', {})).ok).toBe(true);
      await ended;
    } finally {
      customer.close();
      agent.close();
    }
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const expected = `${day}/billing_ann.s_${chatId}.txt`;
    // The file is linked into place before its temporary name is removed: wait for both.
    await waitFor('the local transcript', () => relativeFilesUnder(outbox).includes(expected) && relativeFilesUnder(outbox).length === 1);
    expect(relativeFilesUnder(outbox)).toEqual([expected]);
    const text = readFileSync(join(outbox, expected), 'utf8');
    expect(text).toContain('411111******1111');
    expect(text).not.toContain('4111 1111 1111 1111');
    expect(text.indexOf('411111******1111')).toBeLessThan(text.indexOf('Thanks Bob'));
  });
});
