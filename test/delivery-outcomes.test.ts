// The delivery worker reads a claim's recordings and chats together and records outcomes in
// batches apart from its lanes: a lane whose files are in place goes on to its next job while the
// outcome waits for its batch's transaction. On the real stack (MariaDB, OpenSSH), with one lane,
// so that a lane held by its outcome would show.
import { createConnection } from 'mysql2/promise';
import { cleanupDir, http, startApp, token, waitFor } from './support/app';
import { endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { TestDatabase } from './support/database';
import { deliveryStack } from './support/stack';

// `count` chats ended on a second instance whose worker is off, so that the stack's worker finds
// them queued together: chat i with agent-i and customer "Customer i", who says texts(i).
async function endedWithoutWorker(db: TestDatabase, company: string, count: number, texts: (i: number) => string[]): Promise<string[]> {
  const ender = await startApp({ databaseUrl: db.url, env: { DELIVERY_WORKER: 'false' } });
  const chats: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const chat = await openChat(ender, company, { agentId: `agent-${i}`, customer: { id: `cust-${i}`, name: `Customer ${i}` } });
      try {
        await exchange(chat, texts(i));
        await endChat(chat);
      } finally {
        chat.close();
      }
      chats.push(chat.chatId);
    }
  } finally {
    await ender.stop();
    cleanupDir(ender.workDir);
  }
  return chats;
}

describe('delivery outcomes, recorded apart from the lanes', () => {
  const stack = deliveryStack({ env: { DELIVERY_CONCURRENCY: '1' } });

  beforeEach(() => stack.sshd.clear());

  async function endedChat(company: string, text: string): Promise<string> {
    const chat = await openChat(stack.app, company);
    try {
      await exchange(chat, [text]);
      await endChat(chat);
    } finally {
      chat.close();
    }
    return chat.chatId;
  }

  const statusOf = async (chatId: string) =>
    (await stack.db.query<{ status: string }>('SELECT status FROM recordings WHERE chat_id = ?', [chatId])).map((r) => r.status);

  it("a claim of several jobs, read together: each file holds its own chat's customer and messages", async () => {
    const company = 'claims';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    // Ended on an instance without a worker, so that this one finds them queued together and
    // claims them four at a time (its one lane's claim).
    const chats = await endedWithoutWorker(stack.db, company, 8, (i) => [`hello from ${i}`, `answer to ${i}`]);
    const names = await waitFor('every file', async () => {
      const rows = await stack.db.query<{ chat_id: string; status: string; file_name: string }>(
        `SELECT chat_id, status, file_name FROM recordings WHERE chat_id IN (${chats.map(() => '?').join(',')})`,
        chats,
      );
      return rows.length === chats.length && rows.every((r) => r.status === 'delivered') ? new Map(rows.map((r) => [r.chat_id, r.file_name])) : null;
    });
    chats.forEach((chatId, i) => {
      const body = stack.sshd.readFile(names.get(chatId) as string);
      expect(body).toContain(`hello from ${i}`);
      expect(body).toContain(`answer to ${i}`);
      expect(body).toContain(`Customer ${i}`);
      expect(body).toContain(chatId);
      for (let j = 0; j < chats.length; j++) if (j !== i) expect(body).not.toContain(`hello from ${j}`);
    });
  });

  it('with one lane, a file whose outcome waits on a lock does not hold up the next file; both are recorded once it goes', async () => {
    const company = 'outcomes';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);

    // The outcome's transaction writes delivered_files: hold that table from another session.
    const lock = await createConnection({ uri: stack.db.url });
    let first = '';
    let second = '';
    try {
      await lock.query('LOCK TABLES delivered_files WRITE');
      first = await endedChat(company, 'first');
      await waitFor('the first file', () => stack.sshd.listFiles().length === 1);
      second = await endedChat(company, 'second');
      // The one lane is free: the second file arrives while the first outcome still waits.
      await waitFor('the second file', () => stack.sshd.listFiles().length === 2);
      expect(await statusOf(first)).not.toEqual(['delivered']);
      expect(await statusOf(second)).not.toEqual(['delivered']);
    } finally {
      await lock.query('UNLOCK TABLES');
      await lock.end();
    }

    await waitFor('both outcomes', async () => (await statusOf(first))[0] === 'delivered' && (await statusOf(second))[0] === 'delivered');
    for (const chatId of [first, second]) {
      const files = await stack.db.query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM delivered_files f JOIN recordings r ON r.id = f.recording_id WHERE r.chat_id = ?',
        [chatId],
      );
      expect(Number(files[0].n)).toBe(1);
      const audit = await stack.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE chat_id = ? AND action = 'recording.delivered'", [chatId]);
      expect(Number(audit[0].n)).toBe(1);
      const jobs = await stack.db.query<{ state: string; lease_owner: string | null }>(
        'SELECT j.state, j.lease_owner FROM delivery_jobs j JOIN recordings r ON r.id = j.recording_id WHERE r.chat_id = ?',
        [chatId],
      );
      expect(jobs).toEqual([{ state: 'done', lease_owner: null }]);
    }
    expect(stack.sshd.listFiles()).toHaveLength(2);
  });
});

// Lanes planning at the same time reserve their files' first-choice names in one statement; when
// that statement cannot take them all (two of them want the same name), each is reserved alone.
describe('file names reserved by several lanes at once', () => {
  const stack = deliveryStack({ env: { DELIVERY_CONCURRENCY: '8' } });

  // Eight chats ended on an instance without a worker, then delivered by this one's eight lanes
  // from one claim, under the company's agent profile with `filenameTemplate`: the file name of each
  // chat's recording.
  async function deliverEight(company: string, filenameTemplate: string): Promise<{ chats: string[]; names: Map<string, { name: string; id: string }> }> {
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(stack.sshd))).status).toBe(200);
    expect((await http(stack.app, 'PUT', '/v1/admin/profiles/agent', admin, { filenameTemplate, format: 'text' })).status).toBe(200);
    const chats = await endedWithoutWorker(stack.db, company, 8, (i) => [`hello from ${i}`]);
    const names = await waitFor('every file', async () => {
      const rows = await stack.db.query<{ id: string; chat_id: string; status: string; file_name: string }>(
        `SELECT id, chat_id, status, file_name FROM recordings WHERE chat_id IN (${chats.map(() => '?').join(',')})`,
        chats,
      );
      return rows.length === chats.length && rows.every((r) => r.status === 'delivered')
        ? new Map(rows.map((r) => [r.chat_id, { name: r.file_name, id: r.id }]))
        : null;
    });
    chats.forEach((chatId, i) => expect(stack.sshd.readFile(names.get(chatId)?.name as string)).toContain(`hello from ${i}`));
    return { chats, names };
  }

  it('names that differ: each file under its own first choice', async () => {
    const { chats, names } = await deliverEight('names-apart', 'apart/{{chatId}}');
    expect(chats.map((c) => names.get(c)?.name)).toEqual(chats.map((c) => `apart/${c}.txt`));
    expect(stack.sshd.listFiles().filter((f) => f.startsWith('apart/'))).toHaveLength(8);
  });

  it('one name wanted by all: one file under it, the others under it with their own suffix, none overwritten', async () => {
    const { chats, names } = await deliverEight('names-clash', 'clash/{{service}}');
    const taken = chats.map((c) => names.get(c) as { name: string; id: string });
    expect(taken.filter((t) => t.name === 'clash/sales.txt')).toHaveLength(1);
    for (const t of taken.filter((x) => x.name !== 'clash/sales.txt')) expect(t.name).toBe(`clash/sales_${t.id.slice(0, 8)}.txt`);
    expect(new Set(taken.map((t) => t.name)).size).toBe(8);
    expect(stack.sshd.listFiles().filter((f) => f.startsWith('clash/'))).toHaveLength(8);
  });
});
