import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppHandle, cleanupDir, emit, migrate, startApp, waitFor } from './support/app';
import { DrivenChat, openChat } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { relativeFilesUnder } from './support/files';

// Issue 9 item 2: one socket's events are handled in the order they were sent, so a message sent
// just before chat.end or recording.pause, without waiting for its acknowledgement, is stored and
// recorded. Bounded repetitions: the defect showed in 3-5 runs of 10.
const ROUNDS = 8;

describe.each([['MariaDB'], ['SQLite']])('one socket, events in arrival order (%s)', (backend) => {
  let db: TestDatabase | null = null;
  let app: AppHandle;
  const company = 'ordering';

  beforeAll(async () => {
    if (backend === 'MariaDB') {
      db = await createTestDatabase('order');
      await migrate(db.url);
      app = await startApp({ databaseUrl: db.url });
    } else {
      app = await startApp({ env: { DATABASE_URL: '', EXPORT_LOCAL_DIR: '' } });
    }
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await db?.drop();
  });

  // The chat's one delivered transcript, from the local outbox.
  async function transcriptOf(chatId: string): Promise<string> {
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const file = await waitFor(`the transcript of ${chatId}`, () => relativeFilesUnder(outbox).find((f) => f.includes(chatId) && f.endsWith('.txt')));
    return readFileSync(join(outbox, file), 'utf8');
  }

  async function rounds(during: (chat: DrivenChat, round: number) => Promise<string>): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const chat = await openChat(app, company, { agentId: 'ord-agent', agentName: 'Ord Agent' });
      try {
        const text = await during(chat, round);
        const file = await transcriptOf(chat.chatId);
        expect(file).toContain(text);
      } finally {
        chat.close();
      }
    }
  }

  it('an agent message emitted before chat.end is stored, acknowledged and delivered', async () => {
    await rounds(async (chat, round) => {
      const text = `agent last words ${round}`;
      const sent = emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: `last-${round}`, text });
      const ended = emit(chat.agent, 'chat.end', { chatId: chat.chatId });
      expect(await sent).toMatchObject({ ok: true });
      expect(await ended).toMatchObject({ ok: true });
      return text;
    });
  });

  it('a customer message emitted before chat.end is stored, acknowledged and delivered', async () => {
    await rounds(async (chat, round) => {
      const text = `customer last words ${round}`;
      const sent = emit(chat.customer, 'message', { clientMsgId: `last-${round}`, text });
      const ended = emit(chat.customer, 'chat.end', {});
      expect(await sent).toMatchObject({ ok: true });
      expect(await ended).toMatchObject({ ok: true });
      return text;
    });
  });

  it('a message emitted before recording.pause is recorded, not paused', async () => {
    await rounds(async (chat, round) => {
      const text = `before the pause ${round}`;
      const sent = emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: `pre-${round}`, text });
      const paused = emit(chat.agent, 'recording.pause', { chatId: chat.chatId });
      const ended = emit(chat.agent, 'chat.end', { chatId: chat.chatId });
      expect(await sent).toMatchObject({ ok: true });
      expect(await paused).toMatchObject({ ok: true, recordingState: 'paused' });
      expect(await ended).toMatchObject({ ok: true });
      const file = await transcriptOf(chat.chatId);
      expect(file.indexOf(text)).toBeGreaterThanOrEqual(0);
      expect(file.indexOf(text)).toBeLessThan(file.indexOf('recording paused by'));
      return text;
    });
  });
});
