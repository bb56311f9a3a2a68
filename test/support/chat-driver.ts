import type { Socket } from 'socket.io-client';
import { AppHandle, connect, emit, http, next, token } from './app';

// Drives one complete chat the way a flow, a widget and a portal would.
export interface DrivenChat {
  chatId: string;
  customerToken: string;
  agentToken: string;
  customer: Socket;
  agent: Socket;
  close(): void;
}

export async function openChat(
  app: AppHandle,
  company: string,
  opts: { agentId?: string; service?: string; agentName?: string; agentLogin?: string; externalId?: string; customer?: { id?: string; name?: string } } = {},
): Promise<DrivenChat> {
  const flow = token({ sub: 'flow', company, role: 'flow' });
  const agentId = opts.agentId ?? 'agent-1';
  const created = await http<{ chatId: string; customerToken: string }>(app, 'POST', '/v1/flow/chats', flow, {
    service: opts.service ?? 'sales',
    customer: opts.customer ?? { id: 'cust', name: 'Carol' },
    ...(opts.externalId ? { externalId: opts.externalId } : {}),
  });
  if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  const { chatId, customerToken } = created.body;
  const customer = await connect(app, '/customer', customerToken);
  const agentToken = token({
    sub: agentId,
    company,
    role: 'agent',
    name: opts.agentName ?? 'Agent One',
    ...(opts.agentLogin ? { login: opts.agentLogin } : {}),
  });
  const agent = await connect(app, '/agent', agentToken);
  await http(app, 'POST', `/v1/flow/chats/${chatId}/assign`, flow, { agentId });
  const joined = await emit(agent, 'chat.join', { chatId });
  if (!joined.ok) throw new Error(`join failed: ${JSON.stringify(joined)}`);
  return {
    chatId,
    customerToken,
    agentToken,
    customer,
    agent,
    close: () => {
      customer.close();
      agent.close();
    },
  };
}

export async function exchange(chat: DrivenChat, texts: string[]): Promise<void> {
  for (const [i, text] of texts.entries()) {
    const ack =
      i % 2 === 0
        ? await emit(chat.customer, 'message', { clientMsgId: `c${i}`, text })
        : await emit(chat.agent, 'message', { chatId: chat.chatId, clientMsgId: `a${i}`, text });
    if (!ack.ok) throw new Error(`message refused: ${JSON.stringify(ack)}`);
  }
}

export async function endChat(chat: DrivenChat): Promise<void> {
  const ended = next(chat.customer, 'chat.ended');
  const ack = await emit(chat.agent, 'chat.end', { chatId: chat.chatId });
  if (!ack.ok) throw new Error(`end failed: ${JSON.stringify(ack)}`);
  await ended;
}

// A chat of `company` that exchanges `texts` (customer and agent in turn), then is ended by its
// agent; its sockets are closed.
export async function endedChat(app: AppHandle, company: string, texts: string[]): Promise<DrivenChat> {
  const chat = await openChat(app, company);
  try {
    await exchange(chat, texts);
    await endChat(chat);
  } finally {
    chat.close();
  }
  return chat;
}

// A chat the flow opened with a recording of `profile` running and `count` messages the flow posted,
// `senders` at a time (as a busy flow would), not ended. Any refusal fails the call.
export async function flowChatWithMessages(
  app: AppHandle,
  flow: string,
  opts: { service: string; profile: string; count: number; text: (i: number) => string; senders?: number },
): Promise<string> {
  const created = await http<{ chatId: string }>(app, 'POST', '/v1/flow/chats', flow, { service: opts.service });
  if (created.status >= 300) throw new Error(`chat not created: ${created.status}`);
  const chatId = created.body.chatId;
  const recording = await http(app, 'POST', `/v1/flow/chats/${chatId}/recordings`, flow, { profile: opts.profile });
  if (recording.status !== 201) throw new Error(`recording not started: ${recording.status}`);
  let k = 0;
  await Promise.all(
    Array.from({ length: opts.senders ?? 8 }, async () => {
      while (k < opts.count) {
        const i = k++;
        const r = await http(app, 'POST', `/v1/flow/chats/${chatId}/messages`, flow, { text: opts.text(i) });
        if (r.status >= 300) throw new Error(`message ${i} refused: ${r.status}`);
      }
    }),
  );
  return chatId;
}

export function sftpTargetBody(sshd: { host: string; port: number; username: string; privateKey: string; remoteDir: string; hostKeySha256: string }) {
  return {
    type: 'sftp',
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    remoteDir: sshd.remoteDir,
    hostKeySha256: sshd.hostKeySha256,
  };
}
