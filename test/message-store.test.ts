import 'reflect-metadata';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { ChatEntity } from '../src/chat/chat.entity';
import { ChainStart, MessageChainVerifier } from '../src/chat/message-chain-verifier';
import { MessageStore } from '../src/chat/message-store';
import { Clock } from '../src/common/clock';
import { AppException } from '../src/common/app.exception';
import { loadConfig } from '../src/config/app-config';
import { AppMetrics } from '../src/metrics/app-metrics';
import { resolveDataSourceOptions } from '../src/database/resolve-options';
import { chatRow } from './factories/chat.factory';
import { createTestDatabase, TestDatabase } from './support/database';
import { ENTITIES } from '../src/wiring/entities';
import { ChainReadAhead, ChatSpan, MessageRecord } from '../src/recording/chat-facts.port';

// The storage path under concurrency, on the real database: many chats at once, each message
// committed before its promise resolves, seq contiguous per chat, resends stored once, and many
// messages sharing each commit (group commit).
describe('MessageStore on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: MessageStore;
  const metrics = new AppMetrics();
  let chain: MessageChainVerifier;
  const company = 'storeco';
  // Commits and the messages they carried, read from the messages-per-commit histogram.
  const commits = async () => {
    const values = (await metrics.messagesPerCommit.get()).values;
    const read = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
    return { batches: read('webchat_messages_per_commit_count'), messages: read('webchat_messages_per_commit_sum') };
  };

  beforeAll(async () => {
    db = await createTestDatabase('store');
    const config = loadConfig({ DATABASE_URL: db.url, NODE_ENV: 'test' });
    ds = new DataSource(await resolveDataSourceOptions(config, ENTITIES));
    await ds.initialize();
    await ds.runMigrations();
    store = new MessageStore(ds, config, new Clock(), null, metrics);
    chain = new MessageChainVerifier(ds);
  });
  afterAll(async () => {
    await store?.onModuleDestroy();
    await ds?.destroy();
    await db?.drop();
  });

  // The agents of these tests take part in every chat (an agent's message needs its participation).
  const AGENTS = ['a', 'amy', 'bob', 'ann'];
  async function newChat(id: string, status: 'open' | 'ended' = 'open'): Promise<void> {
    await ds.getRepository(ChatEntity).insert(chatRow({ id, companyId: company, status }));
    for (const agent of AGENTS) {
      await db.query("INSERT INTO participants (chat_id, agent_id, role, name, permit_recordings, joined_at) VALUES (?, ?, 'agent', NULL, 1, NOW(3))", [
        id,
        agent,
      ]);
    }
  }

  // The chat row's part a chain check starts from, as the service reads it.
  async function chainStart(id: string): Promise<ChainStart> {
    const [c] = await db.query<{ status: string; next_seq: number; chain_head: string | null }>('SELECT status, next_seq, chain_head FROM chats WHERE id = ?', [
      id,
    ]);
    return { id, status: c.status, nextSeq: Number(c.next_seq), chainHead: c.chain_head };
  }

  // The walk that gives a large recording's bodies as it checks (checkedMessages) agrees with the
  // check that keeps them (verifyFrom): the same verdict, and when intact the same bodies in order.
  async function expectStreamAgrees(start: ChainStart, spans: ChatSpan[], ahead?: ChainReadAhead): Promise<MessageRecord[]> {
    const walk = chain.checkedMessages(start, company, spans, ahead);
    const given: MessageRecord[] = [];
    let step = await walk.next();
    for (; !step.done; step = await walk.next()) given.push(...step.value);
    const kept = await chain.verifyFrom(start, company, spans, Number.MAX_SAFE_INTEGER, ahead);
    if (kept.intact) {
      const { messages, ...verdict } = kept;
      expect(step.value).toEqual(verdict);
      expect(given).toEqual(messages);
    } else {
      expect(step.value).toEqual(kept);
    }
    return given;
  }

  it('stores 50 chats x 20 messages sent at once, plus resends, exactly once each', async () => {
    const chats = Array.from({ length: 50 }, (_, i) => `chat-${String(i).padStart(3, '0')}`);
    for (const c of chats) await newChat(c);
    const before = await commits();
    const sends: Promise<{ chatId: string; clientMsgId: string; seq: number }>[] = [];
    for (let m = 0; m < 20; m++) {
      for (const chatId of chats) {
        const clientMsgId = `m${m}`;
        const req = { chatId, companyId: company, senderRole: 'customer' as const, senderId: 'cust', senderName: 'C', clientMsgId, text: `text ${m}` };
        sends.push(store.append(req).then((r) => ({ chatId, clientMsgId, seq: r.seq })));
        // every fifth message is resent at once, as a client with a lost ack would
        if (m % 5 === 0) sends.push(store.append(req).then((r) => ({ chatId, clientMsgId, seq: r.seq })));
      }
    }
    const results = await Promise.all(sends);

    // a resend gets the seq of the original
    const byKey = new Map<string, number>();
    for (const r of results) {
      const k = `${r.chatId}/${r.clientMsgId}`;
      if (byKey.has(k)) expect(r.seq).toBe(byKey.get(k));
      else byKey.set(k, r.seq);
    }
    const rows = await db.query<{ chat_id: string; seq: number; client_msg_id: string }>(
      'SELECT chat_id, seq, client_msg_id FROM messages ORDER BY chat_id, seq',
    );
    expect(rows).toHaveLength(50 * 20);
    for (const c of chats) {
      const seqs = rows.filter((r) => r.chat_id === c).map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      // each chat's messages were stored in the order they were sent
      const ids = rows.filter((r) => r.chat_id === c).map((r) => r.client_msg_id);
      expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    }
    const chatRows = await db.query<{ next_seq: number }>('SELECT next_seq FROM chats');
    expect(chatRows.every((c) => c.next_seq === 21)).toBe(true);
    // Each chat's rows form one chain, in seq order, whatever the batches held (resends included).
    const whole = [{ startSeq: 1, endSeq: 21, from: new Date(0), to: new Date() }];
    for (const c of chats) expect(await chain.verify(c, company, whole)).toMatchObject({ intact: true, checked: 20 });
    // group commit: far fewer commits than messages
    const after = await commits();
    const batches = after.batches - before.batches;
    const messages = after.messages - before.messages;
    expect(messages).toBe(results.length);
    expect(batches).toBeLessThan(messages / 10);
  });

  it('refuses messages to an unknown or ended chat without failing the others in the batch', async () => {
    await newChat('ended-1', 'ended');
    await newChat('open-1');
    const mk = (chatId: string, id: string) => ({
      chatId,
      companyId: company,
      senderRole: 'customer' as const,
      senderId: 'cust',
      senderName: null,
      clientMsgId: id,
      text: 'x',
    });
    const [a, b, c, d] = await Promise.allSettled([
      store.append(mk('open-1', '1')),
      store.append(mk('ended-1', '1')),
      store.append(mk('nope', '1')),
      store.append({ ...mk('open-1', '2'), companyId: 'other' }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status === 'rejected' && (b.reason as AppException).code).toBe('conflict');
    expect(c.status === 'rejected' && (c.reason as AppException).code).toBe('not_found');
    expect(d.status === 'rejected' && (d.reason as AppException).code).toBe('not_found'); // another company's chat
  });

  it('answers a resend to an ended chat, and one its caller refused, with the stored seq; refuses messages never stored', async () => {
    await newChat('resend-end-1');
    const mk = (senderId: string, clientMsgId: string) => ({
      chatId: 'resend-end-1',
      companyId: company,
      senderRole: 'agent' as const,
      senderId,
      senderName: null,
      clientMsgId,
      text: `${senderId} ${clientMsgId}`,
    });
    const left = AppException.forbidden('join the chat first');
    // Sent at once: the refused resend goes through the chat's lane behind its original, so it finds
    // it whether they share a batch or not; a refused message never stored gets the refusal.
    const [first, refusedResend, refusedNew] = await Promise.allSettled([
      store.append(mk('amy', '1')),
      store.answerResend(mk('amy', '1'), left),
      store.answerResend(mk('amy', '2'), left),
    ]);
    expect(first.status === 'fulfilled' && [first.value.seq, first.value.duplicate]).toEqual([1, false]);
    expect(refusedResend.status === 'fulfilled' && [refusedResend.value.seq, refusedResend.value.at, refusedResend.value.duplicate]).toEqual([
      1,
      first.status === 'fulfilled' && first.value.at,
      true,
    ]);
    expect(refusedNew.status === 'rejected' && refusedNew.reason).toBe(left);

    await ds.getRepository(ChatEntity).update({ id: 'resend-end-1' }, { status: 'ended' });
    // alone in its batch: the chat's end alone makes the store look for it
    const again = await store.append(mk('amy', '1'));
    expect([again.seq, again.at, again.duplicate]).toEqual([1, first.status === 'fulfilled' && first.value.at, true]);
    const [refusedAgain, fresh, otherSender, otherCompany] = await Promise.allSettled([
      store.answerResend(mk('amy', '1'), left),
      store.append(mk('amy', '3')),
      store.append(mk('bob', '1')),
      store.append({ ...mk('amy', '1'), companyId: 'other' }),
    ]);
    expect(refusedAgain.status === 'fulfilled' && [refusedAgain.value.seq, refusedAgain.value.duplicate]).toEqual([1, true]);
    expect(fresh.status === 'rejected' && (fresh.reason as AppException).code).toBe('conflict');
    expect(otherSender.status === 'rejected' && (otherSender.reason as AppException).code).toBe('conflict');
    expect(otherCompany.status === 'rejected' && (otherCompany.reason as AppException).code).toBe('not_found');
    const rows = await db.query<{ seq: number; client_msg_id: string }>('SELECT seq, client_msg_id FROM messages WHERE chat_id = ?', ['resend-end-1']);
    expect(rows).toEqual([{ seq: 1, client_msg_id: '1' }]);
  });

  it('does not store the body of a message sent while paused', async () => {
    await newChat('paused-1');
    await ds.getRepository(ChatEntity).update({ id: 'paused-1' }, { paused: true });
    const r = await store.append({
      chatId: 'paused-1',
      companyId: company,
      senderRole: 'agent',
      senderId: 'a',
      senderName: 'A',
      clientMsgId: 'p',
      text: 'private',
    });
    expect(r.paused).toBe(true);
    expect(r.text).toBe('private'); // relayed
    const rows = await db.query<{ text: string | null; paused: number }>('SELECT text, paused FROM messages WHERE chat_id = ?', ['paused-1']);
    expect(rows).toEqual([{ text: null, paused: 1 }]);
  });

  it('keeps senders of different roles with one id apart within one batch and across batches', async () => {
    await newChat('same-id-1');
    const mk = (senderRole: 'customer' | 'agent' | 'flow', clientMsgId: string) => ({
      chatId: 'same-id-1',
      companyId: company,
      senderRole,
      senderId: 'ann',
      senderName: null,
      clientMsgId,
      text: `${senderRole} ${clientMsgId}`,
    });
    // sent at once: one batch, holding resends of its own messages too
    const first = await Promise.all(
      [mk('customer', '1'), mk('agent', '1'), mk('flow', '1'), mk('agent', '1'), mk('customer', '1')].map((r) => store.append(r)),
    );
    expect(first.map((r) => [r.seq, r.duplicate])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [2, true],
      [1, true],
    ]);
    // a later batch: new numbers of each, and resends that meet the stored rows
    const second = await Promise.all([mk('agent', '2'), mk('flow', '1'), mk('customer', '2'), mk('agent', '1')].map((r) => store.append(r)));
    expect(second.map((r) => [r.seq, r.duplicate])).toEqual([
      [4, false],
      [3, true],
      [5, false],
      [2, true],
    ]);
    const rows = await db.query<{ seq: number; text: string }>('SELECT seq, text FROM messages WHERE chat_id = ? ORDER BY seq', ['same-id-1']);
    expect(rows.map((r) => r.text)).toEqual(['customer 1', 'agent 1', 'flow 1', 'agent 2', 'customer 2']);
  });

  it('links paused messages too, and reports the head at the last message a span captured', async () => {
    await newChat('head-1');
    const send = (text: string) =>
      store.append({ chatId: 'head-1', companyId: company, senderRole: 'customer', senderId: 'c', senderName: null, clientMsgId: null, text });
    await send('one');
    await send('two');
    await ds.getRepository(ChatEntity).update({ id: 'head-1' }, { paused: true });
    await send('secret');
    await ds.getRepository(ChatEntity).update({ id: 'head-1' }, { paused: false });
    await send('four');
    const rows = await db.query<{ seq: number; chain: string; body_sha256: string | null }>(
      'SELECT seq, chain, body_sha256 FROM messages WHERE chat_id = ? ORDER BY seq',
      ['head-1'],
    );
    expect(rows[2].body_sha256).toBeNull();
    const span = (startSeq: number, endSeq: number) => ({ startSeq, endSeq, from: new Date(0), to: new Date() });
    expect(await chain.verify('head-1', company, [span(1, 5)])).toEqual({ intact: true, head: rows[3].chain, checked: 4 });
    // The paused message is not captured: the head is the message before it.
    expect(await chain.verify('head-1', company, [span(1, 4)])).toEqual({ intact: true, head: rows[1].chain, checked: 4 });
    expect(await chain.verify('head-1', company, [span(3, 4)])).toEqual({ intact: true, head: null, checked: 4 });
    expect(await chain.verify('head-1', company, [])).toEqual({ intact: true, head: null, checked: 4 });
    // Bodies purged by design (outside every produced recording, retention, erasure) keep their
    // digest and link: the chain still verifies; a body put back that differs does not.
    // Asked to, an intact verdict carries the bodies stored in the spans (the paused one has none),
    // so that a small recording reads its messages once; past the characters allowed, none.
    const kept = await chain.verifyFrom(await chainStart('head-1'), company, [span(2, 5)], 1000);
    expect(kept).toMatchObject({ intact: true, head: rows[3].chain, checked: 4 });
    expect(kept.intact && kept.messages?.map((m) => [m.seq, m.senderRole, m.senderId, m.text])).toEqual([
      [2, 'customer', 'c', 'two'],
      [4, 'customer', 'c', 'four'],
    ]);
    expect(kept.intact && kept.messages?.[0].at).toBeInstanceOf(Date);
    expect(await chain.verifyFrom(await chainStart('head-1'), company, [span(1, 5)], 9)).toEqual({ intact: true, head: rows[3].chain, checked: 4 });
    expect((await expectStreamAgrees(await chainStart('head-1'), [span(2, 5)])).map((m) => m.text)).toEqual(['two', 'four']);
    await db.query('UPDATE messages SET text = NULL WHERE chat_id = ? AND seq IN (1, 4)', ['head-1']);
    expect(await chain.verify('head-1', company, [span(1, 5)])).toEqual({ intact: true, head: rows[3].chain, checked: 4 });
    await db.query("UPDATE messages SET text = 'ONE' WHERE chat_id = ? AND seq = 1", ['head-1']);
    expect(await chain.verify('head-1', company, [span(1, 5)])).toEqual({ intact: false, seq: 1, problem: 'the body does not match its digest' });
    await expectStreamAgrees(await chainStart('head-1'), [span(1, 5)]);
  });

  it('starts the chain after rows written before it existed, and accepts unlinked rows only first', async () => {
    await newChat('legacy-1');
    // Two rows as the service wrote them before the chain: no digest, no link, no head.
    for (const seq of [1, 2]) {
      await db.query(
        "INSERT INTO messages (chat_id, seq, client_msg_id, sender_role, sender_id, text, paused, at) VALUES (?, ?, NULL, 'agent', 'a', ?, 0, NOW(3))",
        ['legacy-1', seq, `old ${seq}`],
      );
    }
    await ds.getRepository(ChatEntity).update({ id: 'legacy-1' }, { nextSeq: 3 });
    const send = (text: string) =>
      store.append({ chatId: 'legacy-1', companyId: company, senderRole: 'agent', senderId: 'a', senderName: null, clientMsgId: null, text });
    expect((await send('new 3')).seq).toBe(3);
    expect((await send('new 4')).seq).toBe(4);
    const whole = [{ startSeq: 1, endSeq: 5, from: new Date(0), to: new Date() }];
    const rows = await db.query<{ chain: string | null }>('SELECT chain FROM messages WHERE chat_id = ? ORDER BY seq', ['legacy-1']);
    expect(await chain.verify('legacy-1', company, whole)).toEqual({ intact: true, head: rows[3].chain, checked: 2 });
    const [c] = await db.query<{ chain_head: string | null }>('SELECT chain_head FROM chats WHERE id = ?', ['legacy-1']);
    const kept = await chain.verifyFrom({ id: 'legacy-1', status: 'open', nextSeq: 5, chainHead: c.chain_head }, company, whole, 1000);
    expect(kept.intact && kept.messages?.map((m) => m.text)).toEqual(['old 1', 'old 2', 'new 3', 'new 4']);
    const legacyStart = { id: 'legacy-1', status: 'open', nextSeq: 5, chainHead: c.chain_head };
    expect((await expectStreamAgrees(legacyStart, whole)).map((m) => m.text)).toEqual(['old 1', 'old 2', 'new 3', 'new 4']);
    // An unlinked row after a linked one is a break.
    await db.query('UPDATE messages SET chain = NULL WHERE chat_id = ? AND seq = 4', ['legacy-1']);
    expect(await chain.verify('legacy-1', company, whole)).toEqual({ intact: false, seq: 4, problem: 'the row has no link' });
    // Unlinking every row is caught by the head the chat row keeps.
    await db.query('UPDATE messages SET chain = NULL WHERE chat_id = ? AND seq = 3', ['legacy-1']);
    expect(await chain.verify('legacy-1', company, whole)).toMatchObject({ intact: false, seq: 4 });
  });

  it("reads several chats' chains ahead in one statement, each with the verdict of its own read", async () => {
    const ids = ['ahead-intact', 'ahead-far', 'ahead-gap', 'ahead-body', 'ahead-open'];
    for (const id of ids) {
      await newChat(id);
      for (const text of ['one', 'two', 'three']) {
        await store.append({ chatId: id, companyId: company, senderRole: 'customer', senderId: 'c', senderName: null, clientMsgId: null, text });
      }
    }
    await db.query("UPDATE chats SET status = 'ended' WHERE id IN ('ahead-intact', 'ahead-far', 'ahead-gap', 'ahead-body')");
    // A row slipped in far past the ended chat's last (beyond the check's first page of 200 seqs),
    // a missing row, a changed body; the open chat goes on after its row was read.
    await db.query(
      "INSERT INTO messages (chat_id, seq, client_msg_id, sender_role, sender_id, text, paused, at) VALUES ('ahead-far', 450, NULL, 'agent', 'a', 'forged', 0, NOW(3))",
    );
    await db.query("DELETE FROM messages WHERE chat_id = 'ahead-gap' AND seq = 2");
    await db.query("UPDATE messages SET text = 'TWO' WHERE chat_id = 'ahead-body' AND seq = 2");
    const starts = [];
    for (const id of ids) starts.push(await chainStart(id));
    // A chat too long for one page, and one past the budget of rows, are left to their own read.
    const long = { id: 'ahead-long', status: 'ended', nextSeq: 201, chainHead: null };
    const ahead = await chain.readAhead([...starts, long], 15);
    expect([...ahead.keys()].sort()).toEqual(ids.sort());
    expect((await chain.readAhead(starts, 7)).size).toBe(2);
    await store.append({ chatId: 'ahead-open', companyId: company, senderRole: 'customer', senderId: 'c', senderName: null, clientMsgId: null, text: 'four' });
    const whole = [{ startSeq: 1, endSeq: 4, from: new Date(0), to: new Date() }];
    const verdicts: Record<string, unknown> = {};
    for (const start of starts) {
      const own = await chain.verifyFrom(start, company, whole, 1000);
      expect(await chain.verifyFrom(start, company, whole, 1000, ahead.get(start.id))).toEqual(own);
      await expectStreamAgrees(start, whole, ahead.get(start.id));
      verdicts[start.id] = own.intact ? 'intact' : own.problem;
    }
    expect(verdicts).toEqual({
      'ahead-intact': 'intact',
      'ahead-far': "a row after the chat's last message (seq 3)",
      'ahead-gap': 'the row is missing',
      'ahead-body': 'the body does not match its digest',
      'ahead-open': 'intact',
    });
    // The check took its rows from the read ahead, not from a read of its own.
    await db.query("DELETE FROM messages WHERE chat_id = 'ahead-intact'");
    const fromAhead = await chain.verifyFrom(starts[0], company, whole, 1000, ahead.get('ahead-intact'));
    expect(fromAhead.intact && fromAhead.messages?.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(await chain.verifyFrom(starts[0], company, whole, 1000)).toMatchObject({ intact: false, seq: 1 });
  });

  it("checks a chain of several pages (each next page read while one is checked) with the same verdicts at the pages' edges", async () => {
    // 400 messages: two full pages of CHAIN_PAGE_SIZE (200), the last one ending at the chat's last.
    const ids = ['pages-intact', 'pages-far', 'pages-edge', 'pages-body', 'pages-open'];
    for (const id of ids) {
      await newChat(id);
      await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          store.append({ chatId: id, companyId: company, senderRole: 'customer', senderId: 'c', senderName: null, clientMsgId: null, text: `m ${i}` }),
        ),
      );
    }
    await db.query("UPDATE chats SET status = 'ended' WHERE id IN ('pages-intact', 'pages-far', 'pages-edge', 'pages-body')");
    // A row right after the ended chat's last (on a third page), the first row of the second page
    // gone, a body changed on the second page; the open chat goes on after its row was read.
    await db.query(
      "INSERT INTO messages (chat_id, seq, client_msg_id, sender_role, sender_id, text, paused, at) VALUES ('pages-far', 401, NULL, 'agent', 'a', 'forged', 0, NOW(3))",
    );
    await db.query("DELETE FROM messages WHERE chat_id = 'pages-edge' AND seq = 201");
    await db.query("UPDATE messages SET text = 'changed' WHERE chat_id = 'pages-body' AND seq = 350");
    const starts = [];
    for (const id of ids) starts.push(await chainStart(id));
    for (let i = 0; i < 3; i++) {
      await store.append({
        chatId: 'pages-open',
        companyId: company,
        senderRole: 'agent',
        senderId: 'a',
        senderName: null,
        clientMsgId: null,
        text: `later ${i}`,
      });
    }
    const whole = [{ startSeq: 1, endSeq: 401, from: new Date(0), to: new Date() }];
    const verdicts: Record<string, unknown> = {};
    for (const start of starts) {
      const v = await chain.verifyFrom(start, company, whole);
      verdicts[start.id] = v.intact ? `intact, ${v.checked} checked` : `${v.problem} at ${v.seq}`;
      await expectStreamAgrees(start, whole);
    }
    expect(verdicts).toEqual({
      'pages-intact': 'intact, 400 checked',
      'pages-far': "a row after the chat's last message (seq 400) at 401",
      'pages-edge': 'the row is missing at 201',
      'pages-body': 'the body does not match its digest at 350',
      'pages-open': 'intact, 400 checked',
    });
    // Kept bodies come back in order across the pages.
    const kept = await chain.verifyFrom(starts[0], company, whole, 1_000_000);
    expect(kept.intact && kept.messages?.map((m) => m.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  // An agent's message that passed the socket's check while the agent was being moved out of the
  // chat (a leave or a transfer holds the chat's lock) is refused once the move has committed: it
  // was stored after the agent's leave, in none of the agent's recordings.
  it("refuses an agent's message that waited on the lock of the agent's leave; a resend of one stored before gets its seq", async () => {
    await newChat('leave-race-1');
    const msg = (clientMsgId: string) =>
      ({
        chatId: 'leave-race-1',
        companyId: company,
        senderRole: 'agent',
        senderId: 'amy',
        senderName: null,
        clientMsgId,
        text: `amy ${clientMsgId}`,
      }) as const;
    const before = await store.append(msg('1'));
    const leaver = await createConnection({ uri: db.url });
    try {
      await leaver.query('START TRANSACTION');
      await leaver.query('SELECT id FROM chats WHERE id = ? FOR UPDATE', ['leave-race-1']);
      // Sent while the leave holds the lock: they wait for it.
      const waiting = Promise.allSettled([store.append(msg('2')), store.append(msg('1')), store.append({ ...msg('3'), senderId: 'bob' })]);
      await new Promise((r) => setTimeout(r, 200));
      await leaver.query("UPDATE participants SET left_at = NOW(3) WHERE chat_id = ? AND agent_id = 'amy'", ['leave-race-1']);
      await leaver.query('COMMIT');
      const [after, resent, other] = await waiting;
      expect(after.status === 'rejected' && [(after.reason as AppException).code, (after.reason as AppException).message]).toEqual([
        'forbidden',
        'join the chat first',
      ]);
      expect(resent.status === 'fulfilled' && [resent.value.seq, resent.value.duplicate]).toEqual([before.seq, true]);
      // Another agent still in the chat is not held up by it.
      expect(other.status === 'fulfilled' && other.value.seq).toBe(2);
    } finally {
      await leaver.query('ROLLBACK').catch(() => undefined);
      await leaver.end();
    }
    const rows = await db.query<{ seq: number; sender_id: string }>('SELECT seq, sender_id FROM messages WHERE chat_id = ? ORDER BY seq', ['leave-race-1']);
    expect(rows).toEqual([
      { seq: 1, sender_id: 'amy' },
      { seq: 2, sender_id: 'bob' },
    ]);
  });

  it('locks only the chats of its batch: a transaction holding another chat does not hold it up', async () => {
    // A batch naming many chats of a small table: the optimiser would rather scan every row, and a
    // locking scan waits on every row another transaction holds (up to innodb_lock_wait_timeout).
    await newChat('held-elsewhere');
    const free = Array.from({ length: 30 }, (_, i) => `free-to-write-${i}`);
    for (const c of free) await newChat(c);
    const other = await createConnection({ uri: db.url });
    try {
      await other.query('START TRANSACTION');
      await other.query('SELECT id FROM chats WHERE id = ? FOR UPDATE', ['held-elsewhere']);
      const sends = Promise.all(
        free.map((chatId) => store.append({ chatId, companyId: company, senderRole: 'agent', senderId: 'a', senderName: null, clientMsgId: 'x1', text: 'hi' })),
      );
      const outcome = await Promise.race([sends.then((ms) => ms.map((m) => m.seq)), new Promise((r) => setTimeout(() => r('still waiting after 3 s'), 3000))]);
      expect(outcome).toEqual(free.map(() => 1));
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
    }
  });
});
