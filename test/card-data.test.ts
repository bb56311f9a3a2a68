import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectError, emit, http, next, token, waitFor } from './support/app';
import { endChat, openChat } from './support/chat-driver';
import { filesUnder, settledFilesUnder } from './support/files';
import { appStack } from './support/stack';

const PAN = '4111 1111 1111 1111';
const PAN_DIGITS = '4111111111111111';
const AMEX = '3782-822463-10005';

// Card data is masked before the first write anywhere: the database (every table), the logs and
// the delivered file are searched for it.
describe('card data', () => {
  const stack = appStack({ prefix: 'cards', env: { LOG_LEVEL: 'debug' } });

  async function dump(): Promise<string> {
    const tables = await stack.db.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
    let all = '';
    for (const { t } of tables) all += JSON.stringify(await stack.db.query(`SELECT * FROM \`${t}\``)) + '\n';
    return all;
  }

  it('masks card numbers and security codes before storing, relaying, logging or delivering them', async () => {
    const company = 'cardco';
    const chat = await openChat(stack.app, company, { agentId: 'ag-card' });
    try {
      const relayed = next<{ text: string }>(chat.agent, 'message');
      expect((await emit(chat.customer, 'message', { clientMsgId: '1', text: `my card is ${PAN}, expiry 12/27, CVV: 123` })).ok).toBe(true);
      expect((await relayed).text).toBe('my card is 411111******1111, expiry 12/27, CVV: [redacted]');
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: '2', text: `and the amex ${AMEX} security code 4321?` })).ok).toBe(true);
      const flow = token({ sub: 'flow', company, role: 'flow' });
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, { text: `bot saw ${PAN_DIGITS}` })).status).toBe(201);
      expect((await emit(chat.agent, 'chat.flagAbusive', { chatId: chat.chatId, reason: `posted ${PAN}` })).ok).toBe(true);
      const other = await http(stack.app, 'POST', '/v1/flow/chats', flow, {
        service: 's',
        customer: { name: `Pat ${PAN}` },
        metadata: { note: `card ${PAN}`, raw: Number(PAN_DIGITS), nested: [{ x: AMEX }] },
      });
      expect(other.status).toBe(201);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const outbox = join(stack.app.workDir, 'data', 'outbox', company);
    await waitFor('the transcript', () => settledFilesUnder(outbox).length === 1);
    const file = readFileSync(filesUnder(outbox)[0], 'utf8');
    expect(file).toContain('411111******1111');
    expect(file).toContain('378282*****0005');

    for (const [where, text] of [
      ['database', await dump()],
      ['logs', stack.app.logs()],
      ['file', file],
    ] as const) {
      expect([where, text.includes(PAN_DIGITS)]).toEqual([where, false]);
      expect([where, text.includes(PAN)]).toEqual([where, false]);
      expect([where, text.includes('378282246310005')]).toEqual([where, false]);
      expect([where, text.includes(AMEX)]).toEqual([where, false]);
      expect([where, /CVV: 123|code 4321/.test(text)]).toEqual([where, false]);
    }
  });

  // Contract section 8 says anywhere: identifiers are refused (naming the field), names are masked,
  // a message's clientMsgId is stored as a keyed digest.
  it('refuses card numbers in identifiers, digests them in message ids and masks them in names, on REST, on sockets and in tokens', async () => {
    const company = 'idco';
    const flow = token({ sub: 'flow', company, role: 'flow', name: `Flow ${PAN}` });
    const admin = token({ sub: 'adm', company, role: 'admin' });
    type Err = { statusCode: number; code: string; message: string };
    const refused = async (path: string, body: unknown, field: string, bearer = flow, method = 'POST') => {
      const r = await http<Err>(stack.app, method, path, bearer, body);
      expect([path, field, r.status, r.body.code]).toEqual([path, field, 400, 'bad_request']);
      expect(r.body.message).toContain(`${field} must not contain a card number`);
    };
    await refused('/v1/flow/chats', { service: 's', externalId: `order-${PAN_DIGITS}` }, 'externalId');
    await refused('/v1/flow/chats', { service: `svc ${PAN}` }, 'service');
    await refused('/v1/flow/chats', { service: 's', customer: { id: AMEX } }, 'customer.id');
    const key = await http<Err>(stack.app, 'POST', '/v1/flow/chats', flow, { service: 's', metadata: { nested: { [PAN_DIGITS]: 'x' } } });
    expect([key.status, key.body.message]).toEqual([400, 'metadata must not contain a card number in its keys']);
    await refused('/v1/admin/profiles', { name: 'p', filenameTemplate: `${PAN_DIGITS}/{{chatId}}`, format: 'text' }, 'filenameTemplate', admin);

    const chat = await openChat(stack.app, company, { agentId: 'ag-id', agentName: `Agent ${PAN}` });
    try {
      // A message id that holds a card number is taken (a widget numbering by the millisecond clock
      // sends 13 digits that pass Luhn one time in ten) and stored as a keyed digest: a resend of it
      // is still answered with the same seq, and the dump below finds no card number.
      const byFlow = await http<{ seq: number }>(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, { text: 'hi', clientMsgId: PAN_DIGITS });
      expect(byFlow.status).toBe(201);
      const flowResent = await http<{ seq: number }>(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, {
        text: 'hi',
        clientMsgId: PAN_DIGITS,
      });
      expect(flowResent.body.seq).toBe(byFlow.body.seq);
      const millis = '1796150000000'; // a millisecond clock's value that passes the Luhn check
      const first = await emit(chat.customer, 'message', { clientMsgId: millis, text: 'sent at a Luhn-valid millisecond' });
      const again = await emit(chat.customer, 'message', { clientMsgId: millis, text: 'sent at a Luhn-valid millisecond' });
      expect([first.ok, again.ok, again.seq]).toEqual([true, true, first.seq]);
      const byAgent = await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: PAN, text: 'hi' });
      expect(byAgent.ok).toBe(true);
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: PAN, text: 'hi' })).seq).toBe(byAgent.seq);
      const ids = await stack.db.query<{ client_msg_id: string }>('SELECT client_msg_id FROM messages WHERE chat_id = ? AND client_msg_id LIKE ?', [
        chat.chatId,
        'h1:%',
      ]);
      expect(ids).toHaveLength(3);
      await refused(`/v1/flow/chats/${chat.chatId}/assign`, { agentId: PAN_DIGITS }, 'agentId');
      await refused(`/v1/flow/chats/${chat.chatId}/transfer`, { toAgentId: PAN }, 'toAgentId');
      // The bot's name, from the body or from the flow token, is masked.
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, { text: 'from the bot', name: `Bot ${AMEX}` })).status).toBe(201);
      expect((await http(stack.app, 'POST', `/v1/flow/chats/${chat.chatId}/messages`, flow, { text: 'from the flow' })).status).toBe(201);

      // Admin agent settings: the name is masked, the login and the agent id are refused.
      const put = await http<{ name: string }>(stack.app, 'PUT', '/v1/admin/agents/ag-other', admin, { name: `Ann ${PAN}`, login: 'ann' });
      expect(put.status).toBe(200);
      expect(put.body.name).toBe('Ann 411111******1111');
      await refused('/v1/admin/agents/ag-other', { login: PAN_DIGITS }, 'login', admin, 'PUT');
      await refused(`/v1/admin/agents/${PAN_DIGITS}`, { name: 'x' }, 'agentId', admin, 'PUT');
      // A probe for a chat id that is a card number leaves a masked trace in the audit.
      expect((await http(stack.app, 'GET', `/v1/admin/chats/${PAN_DIGITS}`, admin)).status).toBe(404);

      // Sockets answer {ok:false, error:{code:'bad_request'}} naming the field.
      for (const [s, event, payload, field] of [
        [chat.agent, 'chat.transfer', { chatId: chat.chatId, toAgentId: PAN_DIGITS }, 'toAgentId'],
        [chat.agent, 'chat.join', { chatId: PAN_DIGITS }, 'chatId'],
      ] as const) {
        const ack = await emit(s, event, payload);
        expect([event, ack.ok, ack.error?.code]).toEqual([event, false, 'bad_request']);
        expect(ack.error?.message).toContain(`${field} must not contain a card number`);
      }
      expect((await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: 'a1', text: 'hello' })).ok).toBe(true);
      await endChat(chat);
    } finally {
      chat.close();
    }
    // A token whose sub, login or company is a card number is refused with the reason.
    for (const [claim, claims] of [
      ['sub', { sub: PAN_DIGITS, company, role: 'agent' }],
      ['login', { sub: 'ag-2', company, role: 'agent', login: PAN }],
      ['company', { sub: 'ag-3', company: PAN_DIGITS, role: 'agent' }],
    ] as const) {
      expect((await connectError(stack.app, '/agent', token(claims))).message).toBe(`token ${claim} must not contain a card number`);
    }

    const outbox = join(stack.app.workDir, 'data', 'outbox', company);
    await waitFor('the transcript', () => settledFilesUnder(outbox).length === 1);
    const file = readFileSync(filesUnder(outbox)[0], 'utf8');
    expect(file).toContain('Agent 411111******1111');
    const all = await dump();
    expect(all).toContain('Bot 378282*****0005');
    expect(all).toContain('Flow 411111******1111');
    for (const [where, text] of [
      ['database', all],
      ['logs', stack.app.logs()],
      ['file', file],
    ] as const) {
      expect([where, text.includes(PAN_DIGITS)]).toEqual([where, false]);
      expect([where, text.includes(PAN)]).toEqual([where, false]);
      expect([where, text.includes('378282246310005')]).toEqual([where, false]);
      expect([where, text.includes(AMEX)]).toEqual([where, false]);
    }
  });

  it('can be turned off per company', async () => {
    const company = 'plainco';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/settings', admin, { redactCardData: false })).body).toMatchObject({ redactCardData: false });
    const chat = await openChat(stack.app, company, { agentId: 'ag-plain' });
    try {
      expect((await emit(chat.customer, 'message', { clientMsgId: '1', text: `test card ${PAN}` })).ok).toBe(true);
    } finally {
      chat.close();
    }
    const rows = await stack.db.query<{ text: string }>('SELECT text FROM messages WHERE chat_id = ?', [chat.chatId]);
    expect(rows[0].text).toBe(`test card ${PAN}`);
  });
});
