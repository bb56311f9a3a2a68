import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, token, waitFor } from './support/app';
import { endChat, exchange, openChat } from './support/chat-driver';
import { relativeFilesUnder, settledFilesUnder } from './support/files';
import { appStack } from './support/stack';

// Contract section 5: agentLogin and agentName are each the admin's agent setting, else the
// agent's token's, whatever the order of the admin's PUT and the agent's first join.
describe('the agent login and name in file names and transcripts', () => {
  const stack = appStack({ prefix: 'agentid' });

  // One chat of `agentId` (token login and name as given), ended; the delivered file's name and text.
  async function deliveredChat(company: string, agentId: string, claims: { login: string; name: string }) {
    const chat = await openChat(stack.app, company, { agentId, agentLogin: claims.login, agentName: claims.name });
    try {
      await exchange(chat, ['hello', 'hi there']);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const outbox = join(stack.app.workDir, 'data', 'outbox', company);
    const name = await waitFor('the transcript', () => settledFilesUnder(outbox).length > 0 && relativeFilesUnder(outbox).find((f) => f.includes(chat.chatId)));
    return { chatId: chat.chatId, name, text: readFileSync(join(outbox, name), 'utf8') };
  }

  const day = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');

  it('takes the token login when the admin configured the agent before its first join without a login', async () => {
    const company = 'agentid-sampling';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/agent-a', admin, { samplingPercent: 100 })).status).toBe(200);
    const { chatId, name, text } = await deliveredChat(company, 'agent-a', { login: 'ann', name: 'Ann' });
    expect(name).toBe(`${day()}/sales_ann_${chatId}.txt`);
    expect(text).toContain('Agent: Ann (ann)\n');
    expect((await http(stack.app, 'GET', '/v1/admin/agents/agent-a', admin)).body).toMatchObject({ name: 'Ann', login: 'ann', samplingPercent: 100 });
  });

  it("keeps the admin's name and takes the token's login when the admin set only the name first", async () => {
    const company = 'agentid-name';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/agent-a', admin, { name: 'Ann Admin' })).status).toBe(200);
    const { chatId, name, text } = await deliveredChat(company, 'agent-a', { login: 'ann', name: 'Ann' });
    expect(name).toBe(`${day()}/sales_ann_${chatId}.txt`);
    expect(text).toContain('Agent: Ann Admin (ann)\n');
  });

  it("keeps the admin's login over the token's", async () => {
    const company = 'agentid-admin-login';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/agent-a', admin, { login: 'ann-admin' })).status).toBe(200);
    const { chatId, name, text } = await deliveredChat(company, 'agent-a', { login: 'ann', name: 'Ann' });
    expect(name).toBe(`${day()}/sales_ann-admin_${chatId}.txt`);
    expect(text).toContain('Agent: Ann (ann-admin)\n');
  });

  it("takes the latest token's login when the admin configured the agent after its first join", async () => {
    const company = 'agentid-after';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    await deliveredChat(company, 'agent-a', { login: 'ann', name: 'Ann' });
    expect((await http(stack.app, 'PUT', '/v1/admin/agents/agent-a', admin, { samplingPercent: 100 })).status).toBe(200);
    const { chatId, name, text } = await deliveredChat(company, 'agent-a', { login: 'ann.b', name: 'Ann B' });
    expect(name).toBe(`${day()}/sales_ann.b_${chatId}.txt`);
    expect(text).toContain('Agent: Ann B (ann.b)\n');
  });
});
