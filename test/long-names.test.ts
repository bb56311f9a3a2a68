// Issue 9 item 15: every produced recording gets a deliverable name, on a real OpenSSH server and
// in the local folder: a 254-byte name, long service and customer names, a blank customer name used
// as a folder, and a collision on a maximum-length name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, token, waitFor } from './support/app';
import { endChat, exchange, openChat, sftpTargetBody } from './support/chat-driver';
import { relativeFilesUnder } from './support/files';
import { deliveryStack } from './support/stack';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  lastError: string | null;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('long and blank file names are delivered (issue 9 item 15)', () => {
  // Few attempts, short backoff: a name the target refuses ends `failed` quickly.
  const stack = deliveryStack({ env: { DELIVERY_MAX_ATTEMPTS: '2', DELIVERY_RETRY_BASE_MS: '100', DELIVERY_RETRY_MAX_MS: '200' } });

  const admin = (company: string) => token({ sub: 'adm', company, role: 'admin' });

  // One company per case: its own `agent` profile and target.
  async function company(name: string, target: 'sftp' | 'local', profile?: { filenameTemplate: string; format: 'text' | 'json' | 'html'; sidecar?: boolean }) {
    if (target === 'sftp') expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin(name), sftpTargetBody(stack.sshd))).status).toBe(200);
    if (profile) {
      const r = await http(stack.app, 'PUT', '/v1/admin/profiles/agent', admin(name), profile);
      expect([r.status, r.body]).toEqual([200, expect.anything()]);
    }
  }

  async function deliverChat(name: string, opts: { service?: string; customer?: { id?: string; name?: string } } = {}): Promise<RecordingView> {
    const chat = await openChat(stack.app, name, opts);
    try {
      await exchange(chat, ['hello', 'hi there']);
      await endChat(chat);
    } finally {
      chat.close();
    }
    const recs = await waitFor(
      `the recording of ${chat.chatId} settled`,
      async () => {
        const r = (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chat.chatId}`, admin(name))).body;
        return r.length === 1 && ['delivered', 'failed'].includes(r[0].status) && r;
      },
      30_000,
    );
    return recs[0];
  }

  // What the target holds for a company, relative to its folder.
  function delivered(target: 'sftp' | 'local', name: string): { files: string[]; read(rel: string): string } {
    const dir = target === 'sftp' ? stack.sshd.localDir : join(stack.app.workDir, 'data', 'outbox', name);
    return { files: relativeFilesUnder(dir), read: (rel) => readFileSync(join(dir, rel), 'utf8') };
  }

  function expectFits(fileName: string) {
    for (const seg of fileName.split('/')) {
      expect(bytes(seg)).toBeLessThanOrEqual(255);
      expect(seg.trim()).not.toBe('');
    }
  }

  for (const target of ['sftp', 'local'] as const) {
    describe(`to ${target === 'sftp' ? 'a real OpenSSH server' : 'the local folder'}`, () => {
      beforeEach(() => stack.sshd.clear());

      it('a 254-byte name, with its sidecar, is delivered under that name', async () => {
        const name = `${target}-254`;
        await company(name, target, { filenameTemplate: 'n'.repeat(213) + '_{{chatId}}', format: 'text', sidecar: true });
        const rec = await deliverChat(name);
        expect(rec).toMatchObject({ status: 'delivered', lastError: null });
        const fileName = rec.fileName as string;
        expect(bytes(fileName)).toBeLessThanOrEqual(254);
        expect(fileName.startsWith('n'.repeat(213) + '_')).toBe(true);
        const stem = fileName.slice(0, -'.txt'.length);
        const out = delivered(target, name);
        expect(out.files.filter((f) => f.startsWith('n'))).toEqual([`${stem}.meta.json`, fileName].sort());
        expect(out.files.filter((f) => f.endsWith('.part'))).toEqual([]);
        expect(out.read(fileName)).toContain('hi there');
        expect(JSON.parse(out.read(`${stem}.meta.json`)).file.name).toBe(fileName);
      });

      it('a long service name with the built-in template is cut to fit', async () => {
        const name = `${target}-service`;
        await company(name, target);
        const service = 'é'.repeat(255); // 510 bytes
        const rec = await deliverChat(name, { service });
        expect(rec).toMatchObject({ status: 'delivered', lastError: null });
        const fileName = rec.fileName as string;
        expectFits(fileName);
        const [, file] = fileName.split('/');
        expect(file.startsWith('é'.repeat(50))).toBe(true);
        expect(delivered(target, name).files).toContain(fileName);
      });

      it('a long customer name in a template is cut to fit', async () => {
        const name = `${target}-customer`;
        await company(name, target, { filenameTemplate: '{{customerName}}_{{service}}_{{chatId}}', format: 'html' });
        const rec = await deliverChat(name, { customer: { id: 'c-1', name: '客'.repeat(255) } });
        expect(rec).toMatchObject({ status: 'delivered', lastError: null });
        expectFits(rec.fileName as string);
        expect(rec.fileName).toMatch(/^客+_sales_[0-9a-f-]{36}\.html$/);
        expect(delivered(target, name).files).toContain(rec.fileName);
      });

      it('a whitespace-only customer name used as a folder becomes "_"', async () => {
        const name = `${target}-blank`;
        await company(name, target, { filenameTemplate: '{{customerName}}/{{chatId}}', format: 'json' });
        const rec = await deliverChat(name, { customer: { id: 'c-2', name: '   ' } });
        expect(rec).toMatchObject({ status: 'delivered', lastError: null });
        expect(rec.fileName).toMatch(/^_\/[0-9a-f-]{36}\.json$/);
        expect(delivered(target, name).files).toContain(rec.fileName);
      });

      it('two recordings with the same maximum-length name: both delivered, the second with a suffix that fits', async () => {
        const name = `${target}-collide`;
        await company(name, target, { filenameTemplate: 'm'.repeat(251), format: 'text' });
        const first = await deliverChat(name);
        const second = await deliverChat(name);
        expect(first).toMatchObject({ status: 'delivered', fileName: 'm'.repeat(251) + '.txt' });
        expect(second).toMatchObject({ status: 'delivered', lastError: null });
        const suffixed = second.fileName as string;
        expect(suffixed).toBe(`${'m'.repeat(255 - 4 - 9)}_${second.id.slice(0, 8)}.txt`);
        expect(bytes(suffixed)).toBe(255);
        expect(delivered(target, name).files.filter((f) => f.startsWith('m'))).toEqual([first.fileName, suffixed].sort());
      });
    });
  }
});
