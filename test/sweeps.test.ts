import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Connection, createConnection } from 'mysql2/promise';
import { DataSource, In } from 'typeorm';
import { ChatEntity } from '../src/chat/chat.entity';
import { MessageEntity } from '../src/chat/message.entity';
import { loadConfig } from '../src/config/app-config';
import { resolveDataSourceOptions } from '../src/database/resolve-options';
import { RecordingEntity } from '../src/recording/recording.entity';
import { chatRow } from './factories/chat.factory';
import { AppHandle, cleanupDir, connect, emit, http, migrate, sleep, startApp, token, waitFor } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { ENTITIES } from '../src/wiring/entities';
import { appStack } from './support/stack';

const DAY_MS = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

async function openDataSource(databaseUrl: string): Promise<DataSource> {
  const ds = new DataSource(await resolveDataSourceOptions(loadConfig({ DATABASE_URL: databaseUrl, NODE_ENV: 'test' }), ENTITIES));
  await ds.initialize();
  return ds;
}

// The idle and retention sweeps pick only the chats that are due by their own company's setting, so
// many not-yet-due chats of one company (or chats whose recordings are still owed to Horizon) never
// keep another company's due chats from being ended or purged.
describe.each(['mariadb', 'sqlite'] as const)('sweeps on %s', (kind) => {
  let db: TestDatabase | null = null;
  let app: AppHandle;
  let ds: DataSource;
  const settings = (company: string, body: Record<string, number>) =>
    http(app, 'PUT', '/v1/admin/settings', token({ sub: 'adm', company, role: 'admin' }), body).then((r) => expect(r.status).toBe(200));
  const chats = (company: string, n: number, fields: Partial<ChatEntity>) =>
    Array.from({ length: n }, () => chatRow({ id: randomUUID(), companyId: company, ...fields }));

  beforeAll(async () => {
    if (kind === 'mariadb') {
      db = await createTestDatabase('sweeps');
      await migrate(db.url);
    }
    app = await startApp({ env: { DATABASE_URL: db?.url ?? '', EXPORT_LOCAL_DIR: '', IDLE_SWEEP_MS: '300', RETENTION_SWEEP_MS: '300' } });
    ds = await openDataSource(db?.url ?? `sqlite:${join(app.workDir, 'data', 'webchat.sqlite')}`);
  });
  afterAll(async () => {
    await ds?.destroy();
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await db?.drop();
  });

  it("ends another company's idle chats in one sweep behind 205 not-yet-idle ones", async () => {
    await settings(`idle-a-${kind}`, { idleTimeoutSeconds: 3600 });
    await settings(`idle-b-${kind}`, { idleTimeoutSeconds: 5 });
    // A's chats are older, so they come first by last activity; none is due by A's timeout.
    const a = chats(`idle-a-${kind}`, 205, { lastActivityAt: ago(120_000) });
    const b = chats(`idle-b-${kind}`, 3, { lastActivityAt: ago(60_000) });
    await ds.getRepository(ChatEntity).insert(a);
    await ds.getRepository(ChatEntity).insert(b);

    const status = async (ids: string[]) => (await ds.getRepository(ChatEntity).findBy({ id: In(ids) })).map((c) => c.status);
    await waitFor("B's idle chats ended", async () => (await status(b.map((c) => c.id))).every((s) => s === 'ended'), 15_000);
    // One sweep ended all three (the log line follows the commits, so it is waited for too).
    await waitFor('the sweep to log', () => app.logs().includes('ended 3 idle chat(s)'), 5_000);
    const ended = await ds.getRepository(ChatEntity).findBy({ id: In(b.map((c) => c.id)) });
    expect(ended.map((c) => c.endReason)).toEqual(['idle_timeout', 'idle_timeout', 'idle_timeout']);
    expect(new Set(await status(a.map((c) => c.id)))).toEqual(new Set(['open']));
  });

  it("moves a chat's recorded activity only when it is a step old, and ends it idle by its last message's time", async () => {
    const company = `step-${kind}`;
    await settings(company, { idleTimeoutSeconds: 3600 });
    const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', token({ sub: 'flow', company, role: 'flow' }), {
      service: 's',
      customer: { id: 'c' },
    });
    const { chatId, customerToken } = created.body;
    const customer = await connect(app, '/customer', customerToken);
    const activity = async () => (await ds.getRepository(ChatEntity).findOneByOrFail({ id: chatId })).lastActivityAt.getTime();
    const setActivity = (at: Date) => ds.getRepository(ChatEntity).update({ id: chatId }, { lastActivityAt: at });
    try {
      // Recorded activity newer than a step before the message: the message leaves it as it is.
      const recent = new Date(Date.now() + 60_000);
      await setActivity(recent);
      expect((await emit(customer, 'message', { clientMsgId: 'm1', text: 'one' })).ok).toBe(true);
      expect(await activity()).toBe(recent.getTime());
      // Recorded activity a minute old: the message moves it to the message's time.
      await setActivity(ago(60_000));
      const sent = await emit(customer, 'message', { clientMsgId: 'm2', text: 'two' });
      expect(sent.ok).toBe(true);
      expect(await activity()).toBe(new Date(sent.at as string).getTime());

      // The row's activity a minute old again, the last message just now: with a 5 s timeout the
      // chat is not idle until 5 s after that message (the sweep runs every 300 ms meanwhile; by
      // the row alone it would end at the first one).
      const last = await emit(customer, 'message', { clientMsgId: 'm3', text: 'three' });
      expect(last.ok).toBe(true);
      await setActivity(ago(60_000));
      await settings(company, { idleTimeoutSeconds: 5 });
      await waitFor('the idle end', async () => (await ds.getRepository(ChatEntity).findOneByOrFail({ id: chatId })).status === 'ended', 15_000);
      const ended = await ds.getRepository(ChatEntity).findOneByOrFail({ id: chatId });
      expect(ended.endReason).toBe('idle_timeout');
      expect(ended.endedAt!.getTime() - new Date(last.at as string).getTime()).toBeGreaterThanOrEqual(5_000);
    } finally {
      customer.close();
    }
  });

  it("purges another company's due chats in one sweep behind 205 not-yet-due ones and 205 still owed to Horizon", async () => {
    await settings(`keep-a-${kind}`, { retentionDays: 30 });
    await settings(`keep-b-${kind}`, { retentionDays: 2 });
    await settings(`keep-c-${kind}`, { retentionDays: 2 });
    const ended = (days: number): Partial<ChatEntity> => ({
      status: 'ended',
      endedAt: ago(days * DAY_MS),
      endReason: 'customer',
      lastActivityAt: ago(days * DAY_MS),
    });
    // Oldest first: A's are not due by A's 30 days; C's are due, but each has a failed recording.
    const a = chats(`keep-a-${kind}`, 205, ended(10));
    const c = chats(`keep-c-${kind}`, 205, ended(5));
    const b = chats(`keep-b-${kind}`, 3, ended(3));
    const now = new Date();
    await ds.getRepository(RecordingEntity).insert(
      c.map((x) =>
        Object.assign(new RecordingEntity(), {
          id: randomUUID(),
          chatId: x.id,
          companyId: x.companyId,
          kind: 'agent',
          profileName: 'agent',
          status: 'failed',
          startSeq: 1,
          startedAt: x.startedAt,
          createdAt: now,
          updatedAt: now,
        }),
      ),
    );
    const message = (chatId: string) =>
      Object.assign(new MessageEntity(), {
        chatId,
        seq: 1,
        clientMsgId: null,
        senderRole: 'customer',
        senderId: 'x',
        senderName: null,
        text: 'old words',
        paused: false,
        at: now,
      });
    await ds.getRepository(MessageEntity).insert([...a, ...c, ...b].map((x) => message(x.id)));
    // The chats last, so that no sweep sees one without its recording and message.
    for (const batch of [a, c, b]) await ds.getRepository(ChatEntity).insert(batch);

    const purged = async (ids: string[]) => (await ds.getRepository(ChatEntity).findBy({ id: In(ids) })).map((x) => x.purgedAt !== null);
    await waitFor("B's chats purged", async () => (await purged(b.map((x) => x.id))).every(Boolean), 15_000);
    await waitFor('the sweep to log', () => app.logs().includes('retention purged 3 chat(s)'), 5_000);
    const texts = async (ids: string[]) => (await ds.getRepository(MessageEntity).findBy({ chatId: In(ids) })).map((m) => m.text);
    expect(await texts(b.map((x) => x.id))).toEqual([null, null, null]);
    expect(new Set(await purged([...a, ...c].map((x) => x.id)))).toEqual(new Set([false]));
    expect(new Set(await texts([...a, ...c].map((x) => x.id)))).toEqual(new Set(['old words']));
  });
});

// A message stored between the idle sweep's choice of a chat and its end must keep the chat open:
// the end re-reads the activity (and the company's timeout) under the chat's row lock. The test
// holds that lock itself, lets the sweep queue behind it, then stores fresh activity and releases.
describe('the idle end re-checks activity under the chat lock (MariaDB)', () => {
  const stack = appStack({ prefix: 'idlerace', env: { IDLE_SWEEP_MS: '100' } });
  let holder: Connection;
  const company = 'idlerace';
  const admin = token({ sub: 'adm', company, role: 'admin' });
  const flow = token({ sub: 'flow', company, role: 'flow' });

  beforeAll(async () => {
    holder = await createConnection({ uri: stack.db.url, timezone: 'Z' });
  });
  afterAll(async () => {
    await holder?.end().catch(() => undefined);
  });

  const lockWaits = async () =>
    (
      await stack.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE '%chats%'")
    )[0].n;

  it('does not end a chat whose activity arrived while the sweep waited for its lock', async () => {
    expect((await http(stack.app, 'PUT', '/v1/admin/settings', admin, { idleTimeoutSeconds: 3600 })).status).toBe(200);
    const created = await http<{ chatId: string; customerToken: string }>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 's', customer: { id: 'c' } });
    const { chatId, customerToken } = created.body;
    const customer = await connect(stack.app, '/customer', customerToken);
    try {
      // Quiet for a minute, then the timeout drops to its minimum: the chat is due.
      await stack.db.query('UPDATE chats SET last_activity_at = DATE_SUB(UTC_TIMESTAMP(3), INTERVAL 60 SECOND) WHERE id = ?', [chatId]);
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM chats WHERE id = ? FOR UPDATE', [chatId]);
      expect((await http(stack.app, 'PUT', '/v1/admin/settings', admin, { idleTimeoutSeconds: 5 })).status).toBe(200);
      await waitFor('the sweep to wait for the chat lock', async () => (await lockWaits()) > 0, 15_000);
      // What the message store does in its batch, under the chat lock: a message stored now. The
      // chat row's activity is left a minute old, as the store leaves it within a step of itself
      // (ACTIVITY_STEP_MS): the end must judge by the message's own time.
      await holder.query(
        "INSERT INTO messages (chat_id, seq, client_msg_id, sender_role, sender_id, sender_name, text, paused, at) VALUES (?, 1000, NULL, 'customer', 'c', NULL, 'arrived', 0, UTC_TIMESTAMP(3))",
        [chatId],
      );
      await holder.query('COMMIT');
      await waitFor('the sweep to get the lock', async () => (await lockWaits()) === 0);
      await sleep(500); // later sweeps see the fresh activity too
      const rows = await stack.db.query<{ status: string }>('SELECT status FROM chats WHERE id = ?', [chatId]);
      expect(rows[0].status).toBe('open');
      expect((await emit(customer, 'message', { clientMsgId: 'still-here', text: 'still here' })).ok).toBe(true);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      customer.close();
    }
  });
});
