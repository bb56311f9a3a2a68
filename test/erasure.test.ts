import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppHandle, cleanupDir, emit, http, migrate, startApp, token, waitFor } from './support/app';
import { DrivenChat, endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { createTestDatabase, TestDatabase } from './support/database';
import { relativeFilesUnder } from './support/files';
import { ManifestJson, sha256, verifyCli } from './support/manifests';
import { ChainRow, firstBreak } from './support/message-chain';
import { SshdHandle, startSshd } from './support/sshd';
import { temporaryPath } from '../src/export/transport';

interface ErasureView {
  erasureId: string;
  status: 'running' | 'done' | 'partial';
  requestedAt: string;
  finishedAt: string | null;
  chats: { chatId: string; action: string }[];
  files: { recordingId: string; name: string; action: string; error?: string }[];
}
interface Notice {
  erasureId: string;
  companyId: string;
  requestedAt: string;
  files: { name: string; removed: boolean; sha256?: string }[];
}
const HEX64 = /^[0-9a-f]{64}$/;
interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  label: string | null;
  outcome: { produced: boolean; reason: string } | null;
}

// Contract section 10 end to end: erasure by customer id over SFTP and by chat id to the local
// folder, what is purged in the database, what is removed from the target, the notice, the status
// endpoint, a stopped sshd (partial, then retry), erasing twice, legal hold, and bad input.
describe('erasure', () => {
  let db: TestDatabase;
  let sshd: SshdHandle;
  let app: AppHandle;

  beforeAll(async () => {
    db = await createTestDatabase('erasure');
    await migrate(db.url);
    sshd = await startSshd();
    app = await startApp({
      databaseUrl: db.url,
      env: {
        DELIVERY_MAX_ATTEMPTS: '1',
        ERASURE_SWEEP_MS: '500',
        ERASURE_LEASE_MS: '3000',
        ERASURE_ATTEMPTS: '3',
        ERASURE_RETRY_BASE_MS: '200',
        SFTP_OPERATION_TIMEOUT_MS: '3000',
        RETENTION_SWEEP_MS: '500',
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await sshd?.destroy();
    await db?.drop();
  });

  const adminOf = (company: string) => token({ sub: 'adm', company, role: 'admin' });
  const flowOf = (company: string) => token({ sub: 'flow', company, role: 'flow' });
  const recordingsOf = async (company: string, chatId: string) =>
    (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, adminOf(company))).body;
  const delivered = (company: string, chatId: string) =>
    waitFor(`delivery of ${chatId}`, async () => {
      const recs = await recordingsOf(company, chatId);
      return recs.length > 0 && recs.every((r) => r.status === 'delivered') ? recs : null;
    });
  const erasure = async (company: string, id: string) => (await http<ErasureView>(app, 'GET', `/v1/admin/erasures/${id}`, adminOf(company))).body;
  const finished = (company: string, id: string, timeoutMs = 30_000) =>
    waitFor(`erasure ${id} to finish`, async () => ((await erasure(company, id)).status !== 'running' ? erasure(company, id) : null), timeoutMs);
  const request = async (company: string, body: unknown) => {
    const r = await http<{ erasureId: string; status: string }>(app, 'POST', '/v1/admin/erasures', adminOf(company), body);
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('running');
    return r.body.erasureId;
  };

  async function sidecarProfile(company: string): Promise<void> {
    const r = await http(app, 'POST', '/v1/admin/profiles', adminOf(company), {
      name: 'kept',
      filenameTemplate: 'kept/{{chatId}}-{{label}}',
      format: 'json',
      sidecar: true,
    });
    expect(r.status).toBe(201);
  }

  async function chatWithFlowRecording(company: string, customer: { id: string; name: string }, agentId: string, texts: string[]): Promise<DrivenChat> {
    const chat = await openChat(app, company, { agentId, customer, externalId: `ext-${agentId}` });
    const started = await http(app, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flowOf(company), {
      profile: 'kept',
      label: `label of ${customer.name}`,
    });
    expect(started.status).toBe(201);
    await exchange(chat, texts);
    return chat;
  }

  async function expectPurged(chatId: string): Promise<void> {
    const [chat] = await db.query<Record<string, unknown>>('SELECT customer_id, customer_name, metadata, external_id FROM chats WHERE id = ?', [chatId]);
    expect(chat).toEqual({ customer_id: null, customer_name: null, metadata: null, external_id: null });
    const messages = await db.query<{ text: string | null; sender_role: string; sender_id: string; sender_name: string | null }>(
      'SELECT text, sender_role, sender_id, sender_name FROM messages WHERE chat_id = ?',
      [chatId],
    );
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((m) => m.text === null)).toBe(true);
    for (const m of messages.filter((x) => x.sender_role === 'customer')) expect(m).toMatchObject({ sender_id: 'erased', sender_name: null });
    const details = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM chat_events WHERE chat_id = ? AND detail IS NOT NULL', [chatId]);
    expect(Number(details[0].n)).toBe(0);
    const labels = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM recordings WHERE chat_id = ? AND label IS NOT NULL', [chatId]);
    expect(Number(labels[0].n)).toBe(0);
    // the audit trail keeps its entries, without the customer's id and the purged copies
    const audit = await db.query<{ actor_role: string; actor_id: string | null; action: string; detail: string | null }>(
      'SELECT actor_role, actor_id, action, detail FROM audit_log WHERE chat_id = ?',
      [chatId],
    );
    expect(audit.map((a) => a.action)).toContain('chat.created');
    for (const a of audit.filter((x) => x.actor_role === 'customer')) expect(a.actor_id).toBeNull();
    const detailOf = (action: string) => audit.filter((a) => a.action === action).map((a) => JSON.parse(a.detail ?? '{}') as Record<string, unknown>);
    for (const d of detailOf('chat.created')) expect(d.externalId ?? null).toBeNull();
    for (const d of detailOf('recording.started')) expect(d).toMatchObject({ label: null, recordingId: expect.any(String) as unknown });
    for (const d of detailOf('chat.flagged_abusive')) expect(d.reason).toBeNull();
  }

  it('erases every chat of a customer over SFTP: database purged, files and sidecars removed, undelivered recordings suppressed, the notice delivered', async () => {
    const company = 'erase-sftp';
    const admin = adminOf(company);
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
    await sidecarProfile(company);
    const carol = { id: 'cust-42', name: 'Carol Erasmus' };
    const first = await chatWithFlowRecording(company, carol, 'ag-1', ['my card is on file', 'thanks Carol']);
    await http(app, 'POST', `/v1/flow/chats/${first.chatId}/abusive`, flowOf(company), { reason: 'shouted at Carol' });
    await endChat(first);
    const second = await chatWithFlowRecording(company, carol, 'ag-2', ['second chat']);
    await endChat(second);
    const other = await chatWithFlowRecording(company, { id: 'cust-7', name: 'Otto' }, 'ag-3', ['not me']);
    await endChat(other);
    for (const c of [first, second, other]) {
      c.close();
      await delivered(company, c.chatId);
    }
    // still open: its recordings are not delivered yet
    const open = await openChat(app, company, { agentId: 'ag-4', customer: carol });
    await exchange(open, ['still talking']);

    const before = sshd.listFiles();
    const filesOf = (chatId: string) => before.filter((f) => f.includes(chatId));
    // agent transcript + flow file + its sidecar, per chat
    expect(filesOf(first.chatId)).toHaveLength(3);
    expect(filesOf(second.chatId)).toHaveLength(3);

    const id = await request(company, { customerId: 'cust-42' });
    const done = await finished(company, id);
    expect(done.status).toBe('done');
    expect(done.finishedAt).not.toBeNull();
    expect(done.chats.map((c) => c.chatId).sort()).toEqual([first.chatId, second.chatId, open.chatId].sort());
    expect(done.chats.every((c) => c.action === 'erased')).toBe(true);
    const removed = [...filesOf(first.chatId), ...filesOf(second.chatId)].sort();
    expect(done.files.map((f) => f.name).sort()).toEqual(removed);
    expect(done.files.every((f) => f.action === 'removed' && f.error === undefined)).toBe(true);

    // the target: Carol's files gone, Otto's kept, the notice there
    const after = sshd.listFiles();
    for (const f of removed) expect(after).not.toContain(f);
    expect(after.filter((f) => f.includes(other.chatId))).toEqual(filesOf(other.chatId));
    expect(after).toContain(`erasures/${id}.json`);
    const notice = JSON.parse(sshd.readFile(`erasures/${id}.json`)) as Notice;
    expect(notice).toEqual({ erasureId: id, companyId: company, requestedAt: done.requestedAt, files: expect.any(Array) as unknown });
    expect(notice.files.map((f) => f.name).sort()).toEqual(removed);
    expect(notice.files.every((f) => f.removed)).toBe(true);

    // the database
    for (const c of [first, second, open]) await expectPurged(c.chatId);
    const kept = await db.query<{ customer_id: string; text: string }>(
      'SELECT c.customer_id, m.text FROM chats c JOIN messages m ON m.chat_id = c.id WHERE c.id = ?',
      [other.chatId],
    );
    expect(kept).toEqual([{ customer_id: 'cust-7', text: 'not me' }]);
    // the open chat's recordings: suppressed, erased, and still so after the chat ends
    await endChat(open);
    open.close();
    const openRecs = await recordingsOf(company, open.chatId);
    expect(openRecs.length).toBeGreaterThan(0);
    for (const r of openRecs) expect(r).toMatchObject({ status: 'suppressed', outcome: { produced: false, reason: 'erased' } });
    expect(sshd.listFiles().filter((f) => f.includes(open.chatId))).toEqual([]);
    // delivered recordings stay delivered (their outcome happened), their labels are gone
    for (const r of await recordingsOf(company, first.chatId)) expect(r).toMatchObject({ status: 'delivered', label: null });

    const audit = await db.query<{ action: string; detail: string }>(
      "SELECT action, detail FROM audit_log WHERE company_id = ? AND action IN ('erasure.requested', 'erasure.completed') ORDER BY at",
      [company],
    );
    expect(audit.map((a) => a.action)).toEqual(['erasure.requested', 'erasure.completed']);
    expect(audit.map((a) => a.detail).join(' ')).not.toContain('cust-42');
    expect(JSON.parse(audit[1].detail)).toMatchObject({ erasureId: id, status: 'done', chats: { erased: 3, held: 0 }, files: { removed: 6, failed: 0 } });

    // erasing again is harmless: nothing left to remove, still done
    const again = await finished(company, await request(company, { customerId: 'cust-42' }));
    expect(again.status).toBe('done');
    expect(again.files).toEqual([]); // the customer id is gone from the chats: nothing matches
    const byChat = await finished(company, await request(company, { chatId: first.chatId }));
    expect(byChat.status).toBe('done');
    expect(byChat.chats).toEqual([{ chatId: first.chatId, action: 'erased' }]);
    expect(byChat.files.map((f) => f.action)).toEqual(['not_found', 'not_found', 'not_found']);
  });

  it("removes a delivered recording's manifest with its file and sidecar over SFTP; the notice names all three, and explains the gap in the manifest chain", async () => {
    const company = 'erase-manifest';
    const admin = adminOf(company);
    expect((await http(app, 'PUT', '/v1/admin/export-target', admin, sftpTargetBody(sshd))).status).toBe(200);
    const profile = { name: 'kept', filenameTemplate: 'signed/{{chatId}}', format: 'json', sidecar: true, manifest: true };
    expect((await http(app, 'POST', '/v1/admin/profiles', admin, profile)).status).toBe(201);
    // three customers, delivered one after the other: the company chain is theirs in that order
    const chats: DrivenChat[] = [];
    for (const [i, id] of ['cust-m1', 'cust-m2', 'cust-m3'].entries()) {
      const chat = await chatWithFlowRecording(company, { id, name: `Manny ${i}` }, `ag-m${i}`, [`hello from ${id}`]);
      await endChat(chat);
      chat.close();
      await delivered(company, chat.chatId);
      chats.push(chat);
    }
    const erasedChat = chats[1].chatId;
    const trio = (chatId: string) => [`signed/${chatId}.json`, `signed/${chatId}.manifest.json`, `signed/${chatId}.meta.json`];
    for (const c of chats) expect(sshd.listFiles()).toEqual(expect.arrayContaining(trio(c.chatId)));
    const manifestOf = (chatId: string) => JSON.parse(sshd.readFile(`signed/${chatId}.manifest.json`)) as ManifestJson;
    const erasedManifestSha = sha256(readFileSync(join(sshd.localDir, 'signed', `${erasedChat}.manifest.json`)));
    expect(manifestOf(chats[2].chatId).previousManifestSha256).toBe(erasedManifestSha);
    const [flowRec] = (await recordingsOf(company, erasedChat)).filter((r) => r.fileName?.startsWith('signed/'));

    const id = await request(company, { customerId: 'cust-m2' });
    const done = await finished(company, id);
    expect(done.status).toBe('done');
    expect(done.chats).toEqual([{ chatId: erasedChat, action: 'erased' }]);
    // the three files of the manifest profile's recording (and the agent's transcript), all removed
    const ofFlow = done.files.filter((f) => f.recordingId === flowRec.id);
    expect(ofFlow.map((f) => f.name).sort()).toEqual(trio(erasedChat));
    expect(ofFlow.every((f) => f.action === 'removed' && f.error === undefined)).toBe(true);
    expect(done.files.every((f) => f.action === 'removed')).toBe(true);
    const left = sshd.listFiles();
    for (const f of trio(erasedChat)) expect(left).not.toContain(f);
    for (const c of [chats[0], chats[2]]) expect(left).toEqual(expect.arrayContaining(trio(c.chatId)));

    // the notice names all three, removed, with the digests they were delivered with
    const notice = JSON.parse(sshd.readFile(`erasures/${id}.json`)) as Notice;
    expect(notice).toMatchObject({ erasureId: id, companyId: company, requestedAt: done.requestedAt });
    const listed = notice.files.filter((f) => f.name.startsWith('signed/'));
    expect(listed.map((f) => f.name).sort()).toEqual(trio(erasedChat));
    expect(listed.every((f) => f.removed && /^[0-9a-f]{64}$/.test(f.sha256 ?? ''))).toBe(true);
    expect(listed.find((f) => f.name.endsWith('.manifest.json'))?.sha256).toBe(erasedManifestSha);

    // the operator's check of the drop (docs/integrity.md): the gap is there, the notice explains it
    const drop = mkdtempSync(join(tmpdir(), 'wcr-erased-drop-'));
    try {
      cpSync(sshd.localDir, drop, { recursive: true });
      const chain = await verifyCli(['--chain', drop, '--url', app.url]);
      expect(chain.out).toContain(
        `erased in company ${company}: the manifest before signed/${chats[2].chatId}.manifest.json (recording ${manifestOf(chats[2].chatId).recordingId}) was removed by erasure ${id}: erasures/${id}.json lists signed/${erasedChat}.manifest.json with sha256 ${erasedManifestSha}`,
      );
      expect(chain.out).not.toContain(`gap in company ${company}`);
      expect(chain.code).toBe(0);
      // without the notice it is an unexplained gap
      rmSync(join(drop, 'erasures', `${id}.json`));
      const gap = await verifyCli(['--chain', drop]);
      expect(gap.code).toBe(1);
      expect(gap.out).toContain(`gap in company ${company}: the manifest before signed/${chats[2].chatId}.manifest.json`);
      expect(gap.out).toContain(`no manifest here has sha256 ${erasedManifestSha}`);
      // the other recordings still verify one by one
      const one = await verifyCli([join(drop, 'signed', `${chats[2].chatId}.manifest.json`), '--url', app.url]);
      expect(one).toEqual({ code: 0, out: 'ok\n' });
    } finally {
      rmSync(drop, { recursive: true, force: true });
    }
  });

  it("keeps an erased chat's message chain verifiable: what is said after the erasure is delivered, erased recordings cannot be retried, retention and the chat view work", async () => {
    const company = 'erase-chain';
    const admin = adminOf(company);
    await sidecarProfile(company);
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const chat = await chatWithFlowRecording(company, { id: 'cust-chain', name: 'Chaim' }, 'ag-1', ['before the erasure', 'noted, Chaim']);
    const rowsOf = () =>
      db.query<ChainRow>('SELECT seq, at, sender_role, sender_id, text, body_sha256, chain FROM messages WHERE chat_id = ? ORDER BY seq', [chat.chatId]);
    const headOf = async () => (await db.query<{ chain_head: string | null }>('SELECT chain_head FROM chats WHERE id = ?', [chat.chatId]))[0].chain_head;
    // links only (a third party's check; the bodies may be sealed)
    expect(firstBreak(await rowsOf(), await headOf(), () => null)).toBeNull();
    const headBefore = await headOf();
    // an act of the customer's own, audited under the customer's id
    expect((await emit(chat.customer, 'recording.deleteRequest', {})).ok).toBe(true);
    const [asked] = await db.query<{ actor_id: string }>("SELECT actor_id FROM audit_log WHERE chat_id = ? AND action = 'deletion.requested'", [chat.chatId]);
    expect(asked.actor_id).toBe('cust-chain');

    // erased while open: nothing was delivered yet
    const done = await finished(company, await request(company, { chatId: chat.chatId }));
    expect(done).toMatchObject({ status: 'done', chats: [{ chatId: chat.chatId, action: 'erased' }], files: [] });
    const erasedRecs = await recordingsOf(company, chat.chatId);
    expect(erasedRecs).toHaveLength(2);
    for (const r of erasedRecs) expect(r).toMatchObject({ status: 'suppressed', outcome: { produced: false, reason: 'erased' } });
    // the customer's id is gone from the rows, and the chain was linked again over the erased rows
    await expectPurged(chat.chatId);
    const rows = await rowsOf();
    expect(rows.filter((r) => r.sender_role === 'customer').map((r) => r.sender_id)).toEqual(['erased']);
    expect(JSON.stringify(rows)).not.toContain('cust-chain');
    expect(await headOf()).not.toBe(headBefore);
    expect(firstBreak(rows, await headOf(), () => null)).toBeNull();

    // new data after the erasure: a new flow recording, new messages (new client ids)
    const started = await http<{ recordingId: string }>(app, 'POST', `/v1/flow/chats/${chat.chatId}/recordings`, flowOf(company), {
      profile: 'kept',
      label: 'after',
    });
    expect(started.status).toBe(201);
    expect((await emit(chat.customer, 'message', { clientMsgId: 'after-1', text: 'said after the erasure' })).ok).toBe(true);
    expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: 'after-2', text: 'answered after it' })).ok).toBe(true);
    await endChat(chat);
    chat.close();
    const after = await waitFor('the new recording', async () => {
      const r = (await recordingsOf(company, chat.chatId)).find((x) => x.id === started.body.recordingId);
      return r && r.status !== 'pending' && r.status !== 'stopped' && r.status !== 'recording' ? r : null;
    });
    expect(after.status).toBe('delivered');
    const file = readFileSync(join(outbox, after.fileName as string), 'utf8');
    expect(file).toContain('said after the erasure');
    expect(file).not.toContain('before the erasure');
    expect(firstBreak(await rowsOf(), await headOf(), () => null)).toBeNull();
    const integrity = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE chat_id = ? AND action = 'recording.integrity_failed'", [
      chat.chatId,
    ]);
    expect(Number(integrity[0].n)).toBe(0);

    // an admin cannot bring an erased recording back: refused, still suppressed, nothing delivered
    for (const r of erasedRecs) {
      const retry = await http<{ code: string; message: string }>(app, 'POST', `/v1/admin/recordings/${r.id}/retry`, admin);
      expect(retry.status).toBe(409);
      expect(retry.body.code).toBe('conflict');
      expect(retry.body.message).toContain('suppressed');
      expect((await http<RecordingView>(app, 'GET', `/v1/admin/recordings/${r.id}`, admin)).body).toMatchObject({ status: 'suppressed', fileName: null });
    }
    expect(
      relativeFilesUnder(outbox)
        .filter((f) => f.includes(chat.chatId))
        .sort(),
    ).toEqual([after.fileName, `${(after.fileName as string).slice(0, -'.json'.length)}.meta.json`].sort());

    // the admin's view of the erased chat
    const view = await http<{
      customer: { id: string | null; name: string | null };
      externalId: string | null;
      hold: unknown;
      recordings: RecordingView[];
      events: { detail: string | null; actor: { role: string; id: string | null } }[];
    }>(app, 'GET', `/v1/admin/chats/${chat.chatId}`, admin);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ customer: { id: null, name: null }, externalId: null, hold: null });
    expect(view.body.recordings.map((r) => [r.id, r.status, r.outcome?.reason]).sort()).toEqual(
      [...erasedRecs.map((r) => [r.id, 'suppressed', 'erased']), [after.id, 'delivered', after.outcome?.reason]].sort(),
    );
    expect(JSON.stringify(view.body)).not.toContain('cust-chain');

    // retention later purges the chat as any other (nothing is owed: every recording is final)
    expect((await http(app, 'PUT', '/v1/admin/settings', admin, { retentionDays: 1 })).status).toBe(200);
    await db.query('UPDATE chats SET ended_at = DATE_SUB(UTC_TIMESTAMP(3), INTERVAL 3 DAY) WHERE id = ?', [chat.chatId]);
    await waitFor('the retention purge', async () => {
      const [c] = await db.query<{ purged_at: Date | null }>('SELECT purged_at FROM chats WHERE id = ?', [chat.chatId]);
      return c.purged_at !== null;
    });
    const bodies = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM messages WHERE chat_id = ? AND text IS NOT NULL', [chat.chatId]);
    expect(Number(bodies[0].n)).toBe(0);
    const statuses = (await recordingsOf(company, chat.chatId)).map((r) => r.status).sort();
    expect(statuses).toEqual(['delivered', 'suppressed', 'suppressed']);
    expect(firstBreak(await rowsOf(), await headOf(), () => null)).toBeNull();
  });

  it('erases one chat by id in the local folder, suppresses its failed recording, and skips a held chat', async () => {
    const company = 'erase-local';
    const admin = adminOf(company);
    const outbox = join(app.workDir, 'data', 'outbox', company);
    await sidecarProfile(company);
    const dana = { id: 'cust-9', name: 'Dana' };
    const chat = await chatWithFlowRecording(company, dana, 'ag-1', ['hello', 'hi Dana']);
    await endChat(chat);
    chat.close();
    await delivered(company, chat.chatId);
    const ours = relativeFilesUnder(outbox).filter((f) => f.includes(chat.chatId));
    expect(ours).toHaveLength(3);

    // a second chat of Dana whose flow recording failed (a different file holds its sidecar's name,
    // the first file it delivers): nothing of it delivered
    const blocked = await chatWithFlowRecording(company, dana, 'ag-2', ['blocked']);
    mkdirSync(join(outbox, 'kept'), { recursive: true });
    writeFileSync(join(outbox, 'kept', `${blocked.chatId}-label of Dana.meta.json`), 'someone else');
    await endChat(blocked);
    blocked.close();
    await waitFor('the failure', async () => (await recordingsOf(company, blocked.chatId)).some((r) => r.status === 'failed'));

    // a held chat of Dana
    const held = await chatWithFlowRecording(company, dana, 'ag-3', ['under hold']);
    await endChat(held);
    held.close();
    await delivered(company, held.chatId);
    const hold = await http<{ hold: { reason: string; by: string; at: string } }>(app, 'PUT', `/v1/admin/chats/${held.chatId}/hold`, admin, {
      reason: 'litigation 2026-17',
    });
    expect(hold.status).toBe(200);
    expect(hold.body.hold).toMatchObject({ reason: 'litigation 2026-17', by: 'adm' });
    const view = await http<{ hold: unknown }>(app, 'GET', `/v1/admin/chats/${held.chatId}`, admin);
    expect(view.body.hold).toEqual(hold.body.hold);

    const one = await finished(company, await request(company, { chatId: chat.chatId }));
    expect(one).toMatchObject({ status: 'done', chats: [{ chatId: chat.chatId, action: 'erased' }] });
    expect(one.files.map((f) => f.name).sort()).toEqual(ours);
    expect(one.files.every((f) => f.action === 'removed')).toBe(true);
    const left = relativeFilesUnder(outbox);
    for (const f of ours) expect(left).not.toContain(f);
    const notice = JSON.parse(readFileSync(join(outbox, 'erasures', `${one.erasureId}.json`), 'utf8')) as Notice;
    expect(notice).toMatchObject({ erasureId: one.erasureId, companyId: company, requestedAt: one.requestedAt });
    expect(notice.files.map((f) => f.name).sort()).toEqual(ours);
    await expectPurged(chat.chatId);

    // what an upload of the failed recording cut off midway would have left: its file's and its
    // sidecar's temporary names, holding part of the transcript
    const failedRec = (await recordingsOf(company, blocked.chatId)).find((r) => r.fileName?.startsWith('kept/'));
    const failedName = failedRec?.fileName as string;
    const partials = [failedName, failedName.replace(/\.json$/, '.meta.json')].map((relPath) => temporaryPath({ tempTag: failedRec?.id as string, relPath }));
    for (const p of partials) writeFileSync(join(outbox, p), '{"messages":[{"text":"blocked"');
    const heldPartial = temporaryPath({ tempTag: 'not-erased', relPath: `kept/${held.chatId}.json` });
    writeFileSync(join(outbox, heldPartial), 'kept');

    // by customer: the failed one is suppressed (reason erased, its job withdrawn); the held one is untouched
    const heldFiles = relativeFilesUnder(outbox).filter((f) => f.includes(held.chatId));
    const all = await finished(company, await request(company, { customerId: 'cust-9' }));
    expect(all.status).toBe('done');
    expect(all.chats).toEqual(
      expect.arrayContaining([
        { chatId: blocked.chatId, action: 'erased' },
        { chatId: held.chatId, action: 'held' },
      ]),
    );
    expect(all.chats.find((c) => c.chatId === chat.chatId)).toBeUndefined(); // its customer id was already erased
    const [agentRec, flowRec] = await recordingsOf(company, blocked.chatId).then((rs) => [
      rs.find((r) => r.fileName?.startsWith('kept/') !== true),
      rs.find((r) => r.fileName?.startsWith('kept/')),
    ]);
    expect(flowRec).toMatchObject({ status: 'suppressed', outcome: { produced: false, reason: 'erased' } });
    // the agent's recording of that chat had been delivered: its file is removed
    expect(agentRec?.status).toBe('delivered');
    expect(all.files).toEqual([{ recordingId: agentRec?.id, name: agentRec?.fileName, action: 'removed' }]);
    expect(existsSync(join(outbox, agentRec?.fileName as string))).toBe(false);
    const jobs = await db.query<{ state: string }>(
      'SELECT j.state FROM delivery_jobs j JOIN recordings r ON r.id = j.recording_id WHERE r.chat_id = ? AND r.kind = ?',
      [blocked.chatId, 'flow'],
    );
    expect(jobs).toEqual([{ state: 'canceled' }]);
    await expectPurged(blocked.chatId);
    // its partial uploads are gone too (not listed: they were never delivered); others' are not
    for (const p of partials) expect(existsSync(join(outbox, p))).toBe(false);
    expect(existsSync(join(outbox, heldPartial))).toBe(true);
    expect(relativeFilesUnder(outbox).filter((f) => f.includes(held.chatId))).toEqual(heldFiles);
    const [heldRow] = await db.query<{ customer_id: string; n: number }>(
      'SELECT c.customer_id, (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id AND m.text IS NOT NULL) AS n FROM chats c WHERE c.id = ?',
      [held.chatId],
    );
    expect({ ...heldRow, n: Number(heldRow.n) }).toEqual({ customer_id: 'cust-9', n: 1 });
    const second = JSON.parse(readFileSync(join(outbox, 'erasures', `${all.erasureId}.json`), 'utf8')) as Notice;
    expect(second.files).toEqual([{ name: agentRec?.fileName, removed: true, sha256: expect.stringMatching(HEX64) as unknown }]);

    // the hold released: audited both ways
    expect((await http<{ hold: null }>(app, 'DELETE', `/v1/admin/chats/${held.chatId}/hold`, admin)).body).toEqual({ chatId: held.chatId, hold: null });
    expect((await http<{ hold: unknown }>(app, 'GET', `/v1/admin/chats/${held.chatId}`, admin)).body.hold).toBeNull();
    const trail = await http<{ action: string }[]>(app, 'GET', `/v1/admin/audit?chatId=${held.chatId}`, admin);
    expect(trail.body.map((e) => e.action)).toEqual(expect.arrayContaining(['chat.hold_placed', 'chat.hold_released']));
  });

  it('removes files delivered before their place was recorded (an older version), from the current target', async () => {
    const company = 'erase-legacy';
    const outbox = join(app.workDir, 'data', 'outbox', company);
    await sidecarProfile(company);
    const chat = await chatWithFlowRecording(company, { id: 'cust-old', name: 'Olga' }, 'ag-1', ['from long ago']);
    await endChat(chat);
    chat.close();
    const recs = await delivered(company, chat.chatId);
    const ours = relativeFilesUnder(outbox).filter((f) => f.includes(chat.chatId));
    expect(ours).toHaveLength(3);
    await db.query(
      `DELETE FROM delivered_files WHERE recording_id IN (${recs.map(() => '?').join(',')})`,
      recs.map((r) => r.id),
    );
    const done = await finished(company, await request(company, { chatId: chat.chatId }));
    expect(done.status).toBe('done');
    expect(done.files.map((f) => f.name).sort()).toEqual(ours);
    expect(done.files.every((f) => f.action === 'removed')).toBe(true);
    expect(relativeFilesUnder(outbox).filter((f) => f.includes(chat.chatId))).toEqual([]);
    // their digests were never recorded: the notice names them without one
    const notice = JSON.parse(readFileSync(join(outbox, 'erasures', `${done.erasureId}.json`), 'utf8')) as Notice;
    expect(notice.files.map((f) => f.name).sort()).toEqual(ours);
    expect(notice.files.every((f) => f.removed && f.sha256 === undefined)).toBe(true);
  });

  it('reports a file it cannot remove as failed (partial, the notice says so), and a retry replaces the notice', async () => {
    const company = 'erase-stuck';
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const chat = await openChat(app, company, { agentId: 'ag-1', customer: { id: 'cust-stuck', name: 'Stu' } });
    await exchange(chat, ['stuck']);
    await endChat(chat);
    chat.close();
    const [rec] = await delivered(company, chat.chatId);
    const path = join(outbox, rec.fileName as string);
    // the name now holds a folder: unlink fails
    rmSync(path);
    mkdirSync(path);
    const id = await request(company, { chatId: chat.chatId });
    const partial = await finished(company, id);
    expect(partial.status).toBe('partial');
    expect(partial.files).toEqual([{ recordingId: rec.id, name: rec.fileName, action: 'failed', error: expect.stringMatching(/^.+: E[A-Z]+$/) as unknown }]);
    const noticePath = join(outbox, 'erasures', `${id}.json`);
    expect((JSON.parse(readFileSync(noticePath, 'utf8')) as Notice).files).toEqual([
      { name: rec.fileName, removed: false, sha256: expect.stringMatching(HEX64) as unknown },
    ]);

    // a file is back under the name: the retry removes it and the notice is replaced
    rmSync(path, { recursive: true });
    writeFileSync(path, 'again');
    expect((await http(app, 'POST', `/v1/admin/erasures/${id}/retry`, adminOf(company))).status).toBe(202);
    const done = await finished(company, id);
    expect(done).toMatchObject({ status: 'done', files: [{ name: rec.fileName, action: 'removed' }] });
    expect(existsSync(path)).toBe(false);
    expect((JSON.parse(readFileSync(noticePath, 'utf8')) as Notice).files).toEqual([
      { name: rec.fileName, removed: true, sha256: expect.stringMatching(HEX64) as unknown },
    ]);
  });

  it('does not remove from a target the company has since replaced: failed, naming both places', async () => {
    const company = 'erase-moved';
    const outbox = join(app.workDir, 'data', 'outbox', company);
    const chat = await openChat(app, company, { agentId: 'ag-1', customer: { id: 'cust-moved', name: 'Mo' } });
    await exchange(chat, ['went to the local folder']);
    await endChat(chat);
    chat.close();
    const [rec] = await delivered(company, chat.chatId);
    expect((await http(app, 'PUT', '/v1/admin/export-target', adminOf(company), sftpTargetBody(sshd))).status).toBe(200);
    const partial = await finished(company, await request(company, { chatId: chat.chatId }));
    expect(partial.status).toBe('partial');
    expect(partial.files).toHaveLength(1);
    expect(partial.files[0].action).toBe('failed');
    expect(partial.files[0].error).toMatch(/^the export target changed since the file was delivered: it went to local folder .+, the target is now sftp:\/\//);
    expect(existsSync(join(outbox, rec.fileName as string))).toBe(true);
    expect(sshd.listFiles().filter((f) => f.startsWith('erasures/') && f.includes(partial.erasureId))).toEqual([]);
  });

  it('ends partial when the sshd is down, and a retry completes it once it is back', async () => {
    const company = 'erase-down';
    expect((await http(app, 'PUT', '/v1/admin/export-target', adminOf(company), sftpTargetBody(sshd))).status).toBe(200);
    const chat = await openChat(app, company, { agentId: 'ag-1', customer: { id: 'cust-down', name: 'Eve' } });
    await exchange(chat, ['to be erased']);
    await endChat(chat);
    chat.close();
    const [rec] = await delivered(company, chat.chatId);
    expect(sshd.listFiles()).toContain(rec.fileName);
    const deliveredSha = sha256(readFileSync(join(sshd.localDir, rec.fileName as string)));

    await sshd.stop();
    let id: string;
    let partial: ErasureView;
    try {
      id = await request(company, { customerId: 'cust-down' });
      partial = await finished(company, id, 60_000);
    } finally {
      await sshd.start();
    }
    expect(partial.status).toBe('partial');
    expect(partial.chats).toEqual([{ chatId: chat.chatId, action: 'erased' }]);
    expect(partial.files).toEqual([
      { recordingId: rec.id, name: rec.fileName, action: 'failed', error: expect.stringContaining('could not connect') as unknown },
    ]);
    await expectPurged(chat.chatId); // the database part is done regardless
    expect(sshd.listFiles()).toContain(rec.fileName);

    const retried = await http<{ status: string }>(app, 'POST', `/v1/admin/erasures/${id}/retry`, adminOf(company));
    expect(retried.status).toBe(202);
    expect(retried.body.status).toBe('running');
    const done = await finished(company, id);
    expect(done.status).toBe('done');
    expect(done.files).toEqual([{ recordingId: rec.id, name: rec.fileName, action: 'removed' }]);
    expect(sshd.listFiles()).not.toContain(rec.fileName);
    const notice = JSON.parse(sshd.readFile(`erasures/${id}.json`)) as Notice;
    expect(notice.files).toEqual([{ name: rec.fileName, removed: true, sha256: deliveredSha }]);
    // a retry of a done erasure changes nothing
    const twice = await http<{ status: string }>(app, 'POST', `/v1/admin/erasures/${id}/retry`, adminOf(company));
    expect(twice.body.status).toBe('done');
    const audit = await db.query<{ action: string }>("SELECT action FROM audit_log WHERE company_id = ? AND action LIKE 'erasure.%' ORDER BY at", [company]);
    expect(audit.map((a) => a.action)).toEqual(['erasure.requested', 'erasure.completed', 'erasure.retried', 'erasure.completed']);
  });

  it('answers bad input with clear errors and keeps companies apart', async () => {
    const company = 'erase-bad';
    const admin = adminOf(company);
    const chat = await openChat(app, company, { customer: { id: 'cust-b', name: 'Bo' } });
    chat.close();
    const post = (body: unknown, who = admin) => http<{ statusCode: number; code: string; message: string }>(app, 'POST', '/v1/admin/erasures', who, body);

    // A null is not given, as everywhere in the API (it once reached the database and answered 500).
    for (const body of [{}, { customerId: 'cust-b', chatId: chat.chatId }, { chatId: null }, { customerId: null }, { customerId: null, chatId: null }]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'bad_request', message: 'exactly one of customerId or chatId is required' });
    }
    expect((await post({ customerId: 42 })).body.message).toMatch(/customerId/);
    expect((await post({ chatId: ['x'] })).body.message).toMatch(/chatId/);
    expect((await post({ customerId: '' })).body.message).toMatch(/customerId/);
    expect((await post('not json')).status).toBe(400);
    const unknown = await post({ chatId: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/chatId/);
    // another company's chat is as unknown as one that does not exist
    const foreign = await post({ chatId: chat.chatId }, adminOf('someone-else'));
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect((await post({ chatId: chat.chatId }, token({ sub: 'f', company, role: 'flow' }))).status).toBe(403);

    const id = await request(company, { chatId: chat.chatId });
    expect((await http(app, 'GET', `/v1/admin/erasures/${id}`, adminOf('someone-else'))).status).toBe(404);
    expect((await http(app, 'POST', `/v1/admin/erasures/${id}/retry`, adminOf('someone-else'))).status).toBe(404);
    expect((await http(app, 'GET', '/v1/admin/erasures/nope', admin)).status).toBe(404);

    // holds
    const put = (chatId: string, body: unknown, who = admin) =>
      http<{ code: string; message: string }>(app, 'PUT', `/v1/admin/chats/${chatId}/hold`, who, body);
    for (const body of [{}, { reason: '' }, { reason: '   ' }, { reason: 'x'.repeat(501) }, { reason: 7 }]) {
      const r = await put(chat.chatId, body);
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/reason/);
    }
    const missing = await put('00000000-0000-4000-8000-000000000000', { reason: 'r' });
    const other = await put(chat.chatId, { reason: 'r' }, adminOf('someone-else'));
    expect(missing.status).toBe(404);
    expect(other.status).toBe(404);
    expect(other.body).toEqual(missing.body);
    expect((await http(app, 'DELETE', `/v1/admin/chats/${chat.chatId}/hold`, adminOf('someone-else'))).status).toBe(404);
    expect((await http<{ hold: unknown }>(app, 'GET', `/v1/admin/chats/${chat.chatId}`, admin)).body.hold).toBeNull();
  });
});

// The embedded default: SQLite and the local folder, with the same migrations and runner.
describe('erasure on SQLite', () => {
  let app: AppHandle;
  const company = 'erase-lite';
  const admin = token({ sub: 'adm', company, role: 'admin' });

  beforeAll(async () => {
    app = await startApp({ env: { DATABASE_URL: '', EXPORT_LOCAL_DIR: '', ERASURE_SWEEP_MS: '500' } });
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  it('erases a customer and removes the delivered file, with the notice beside', async () => {
    const chat = await openChat(app, company, { customer: { id: 'lite-1', name: 'Lia' } });
    await exchange(chat, ['hello from SQLite']);
    await endChat(chat);
    chat.close();
    const [rec] = await waitFor('delivery', async () => {
      const rs = (await http<RecordingView[]>(app, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin)).body;
      return rs[0]?.status === 'delivered' ? rs : null;
    });
    const outbox = join(app.workDir, 'data', 'outbox', company);
    expect(existsSync(join(outbox, rec.fileName as string))).toBe(true);
    const r = await http<{ erasureId: string }>(app, 'POST', '/v1/admin/erasures', admin, { customerId: 'lite-1' });
    expect(r.status).toBe(202);
    const done = await waitFor('the erasure', async () => {
      const e = (await http<ErasureView>(app, 'GET', `/v1/admin/erasures/${r.body.erasureId}`, admin)).body;
      return e.status !== 'running' ? e : null;
    });
    expect(done).toMatchObject({ status: 'done', chats: [{ chatId: chat.chatId, action: 'erased' }], files: [{ name: rec.fileName, action: 'removed' }] });
    expect(existsSync(join(outbox, rec.fileName as string))).toBe(false);
    expect(existsSync(join(outbox, 'erasures', `${r.body.erasureId}.json`))).toBe(true);
    const view = await http<{ customer: { id: string | null; name: string | null }; events: { detail: string | null }[] }>(
      app,
      'GET',
      `/v1/admin/chats/${chat.chatId}`,
      admin,
    );
    expect(view.body.customer).toEqual({ id: null, name: null });
    expect(view.body.events.every((e) => e.detail === null)).toBe(true);
    // the chain, linked again over the erased rows (the relinking's SQL on SQLite), still verifies
    const sqlite = new Database(join(app.workDir, 'data', 'webchat.sqlite'), { readonly: true });
    try {
      const rows = (
        sqlite
          .prepare('SELECT seq, at, sender_role, sender_id, text, body_sha256, chain FROM messages WHERE chat_id = ? ORDER BY seq')
          .all(chat.chatId) as (ChainRow & {
          at: string;
        })[]
      ).map((m) => ({ ...m, at: new Date(`${m.at.replace(' ', 'T')}Z`) }));
      const { chain_head: head } = sqlite.prepare('SELECT chain_head FROM chats WHERE id = ?').get(chat.chatId) as { chain_head: string | null };
      expect(rows.map((m) => [m.sender_role, m.sender_id, m.text])).toEqual([['customer', 'erased', null]]);
      expect(head).toMatch(/^[0-9a-f]{64}$/);
      expect(firstBreak(rows, head, () => null)).toBeNull();
    } finally {
      sqlite.close();
    }
  });
});
