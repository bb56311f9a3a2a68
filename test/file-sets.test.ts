// A recording delivers a set of files (its file, a `.meta.json` sidecar, a `.manifest.json`
// manifest): no two recordings of a company share a name of their sets, so a recording whose
// first-choice set would meet another's gets the collision suffix (docs/api.md "Files") and every
// produced recording is delivered, nothing overwritten or refused. MariaDB, the local folder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, token, waitFor } from './support/app';
import { flowChatWithMessages } from './support/chat-driver';
import { relativeFilesUnder, settledFilesUnder } from './support/files';
import { appStack } from './support/stack';

interface RecordingView {
  id: string;
  status: string;
  fileName: string | null;
  lastError: string | null;
}

type Format = 'text' | 'json' | 'html' | 'vcon';
interface Profile {
  filenameTemplate: string;
  format: Format;
  sidecar?: boolean;
  manifest?: boolean;
}

const EXTENSIONS: Record<Format, string> = { text: '.txt', json: '.json', html: '.html', vcon: '.vcon.json' };

// The tester's profiles: S makes x.txt, x.meta.json and x.manifest.json; J's file is x.meta.json and
// M's x.manifest.json; T and H share a template and a sidecar in two formats; V (vcon) and W (json
// whose template ends in .vcon) both make y.vcon.json.
const PROFILES: Record<string, Profile> = {
  S: { filenameTemplate: 'x', format: 'text', sidecar: true, manifest: true },
  J: { filenameTemplate: 'x.meta', format: 'json' },
  M: { filenameTemplate: 'x.manifest', format: 'json' },
  T: { filenameTemplate: 'z', format: 'text', sidecar: true },
  H: { filenameTemplate: 'z', format: 'html', sidecar: true },
  V: { filenameTemplate: 'y', format: 'vcon', sidecar: true },
  W: { filenameTemplate: 'y.vcon', format: 'json' },
};

describe('the files of two recordings never share a name', () => {
  // Few attempts, short backoff: a refused file ends the recording `failed` quickly.
  const stack = appStack({ prefix: 'filesets', env: { DELIVERY_MAX_ATTEMPTS: '2', DELIVERY_RETRY_BASE_MS: '100', DELIVERY_RETRY_MAX_MS: '200' } });
  const admin = (company: string) => token({ sub: 'adm', company, role: 'admin' });
  const flow = (company: string) => token({ sub: 'flow', company, role: 'flow' });
  const folder = (company: string) => join(stack.app.workDir, 'data', 'outbox', company);

  async function profiles(company: string, names: string[]): Promise<void> {
    for (const name of names) {
      const r = await http(stack.app, 'POST', '/v1/admin/profiles', admin(company), { name, ...PROFILES[name] });
      expect([name, r.status]).toEqual([name, 201]);
    }
  }

  // A flow chat with a recording of the profile and one message naming it, ended; its recording once
  // settled.
  async function record(company: string, profile: string): Promise<RecordingView & { profile: string; text: string }> {
    const chatId = await started(company, profile);
    return settled(company, profile, chatId);
  }

  async function started(company: string, profile: string): Promise<string> {
    const chatId = await flowChatWithMessages(stack.app, flow(company), { service: 'sales', profile, count: 1, text: () => `TEXT-OF-${profile}` });
    expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/end`, flow(company))).status).toBe(200);
    return chatId;
  }

  async function settled(company: string, profile: string, chatId: string): Promise<RecordingView & { profile: string; text: string }> {
    const [rec] = await waitFor(
      `the recording of ${profile} settled`,
      async () => {
        const r = (await http<RecordingView[]>(stack.app, 'GET', `/v1/admin/recordings?chatId=${chatId}`, admin(company))).body;
        return r.length === 1 && ['delivered', 'failed'].includes(r[0].status) && r;
      },
      30_000,
    );
    return { ...rec, profile, text: `TEXT-OF-${profile}` };
  }

  // Every recording delivered, each of its files where its name says and holding what it should,
  // and nothing else in the folder: no file was overwritten, refused or left over.
  function expectAllDelivered(company: string, recs: (RecordingView & { profile: string; text: string })[]): void {
    for (const r of recs) expect([r.profile, r.status, r.lastError]).toEqual([r.profile, 'delivered', null]);
    const dir = folder(company);
    const expected: string[] = [];
    for (const r of recs) {
      const p = PROFILES[r.profile];
      const main = r.fileName as string;
      const stem = main.slice(0, -EXTENSIONS[p.format].length);
      expected.push(main);
      expect(readFileSync(join(dir, main), 'utf8')).toContain(r.text);
      if (p.sidecar) {
        expected.push(`${stem}.meta.json`);
        expect(JSON.parse(readFileSync(join(dir, `${stem}.meta.json`), 'utf8'))).toMatchObject({ file: { name: main } });
      }
      if (p.manifest) {
        expected.push(`${stem}.manifest.json`);
        const manifest = JSON.parse(readFileSync(join(dir, `${stem}.manifest.json`), 'utf8')) as { recordingId: string; files: { name: string }[] };
        expect(manifest.recordingId).toBe(r.id);
        expect(manifest.files.map((f) => f.name)).toEqual(p.sidecar ? [`${stem}.meta.json`, main] : [main]);
      }
    }
    expect(new Set(expected).size).toBe(expected.length);
    expect(relativeFilesUnder(dir)).toEqual(expected.sort());
  }

  const suffixed = (r: RecordingView, stem: string, extension: string) => `${stem}_${r.id.slice(0, 8)}${extension}`;

  it("(a) a recording whose file would be an earlier one's sidecar or manifest gets the suffix", async () => {
    const company = 'sets-a';
    await profiles(company, ['S', 'J', 'M']);
    const s = await record(company, 'S');
    const j = await record(company, 'J');
    const m = await record(company, 'M');
    expect([s.fileName, j.fileName, m.fileName]).toEqual(['x.txt', suffixed(j, 'x.meta', '.json'), suffixed(m, 'x.manifest', '.json')]);
    expectAllDelivered(company, [s, j, m]);
  });

  it("(b) a recording whose sidecar or manifest would be an earlier one's file gets the suffix, for its whole set", async () => {
    const company = 'sets-b';
    await profiles(company, ['S', 'J', 'M']);
    const m = await record(company, 'M');
    const j = await record(company, 'J');
    const s = await record(company, 'S');
    expect([m.fileName, j.fileName, s.fileName]).toEqual(['x.manifest.json', suffixed(j, 'x.meta', '.json'), suffixed(s, 'x', '.txt')]);
    expectAllDelivered(company, [m, j, s]);
  });

  it('two formats of one template, both with a sidecar; a json file named like a vCon', async () => {
    const company = 'sets-formats';
    await profiles(company, ['T', 'H', 'V', 'W']);
    const t = await record(company, 'T');
    const h = await record(company, 'H');
    const w = await record(company, 'W');
    const v = await record(company, 'V');
    expect([t.fileName, h.fileName, w.fileName, v.fileName]).toEqual(['z.txt', suffixed(h, 'z', '.html'), 'y.vcon.json', suffixed(v, 'y', '.vcon.json')]);
    expectAllDelivered(company, [t, h, w, v]);
  });

  it('recordings named at the same moment (one statement for their first choices) still get one set each', async () => {
    const company = 'sets-batch';
    await profiles(company, Object.keys(PROFILES));
    const names = [...Object.keys(PROFILES), ...Object.keys(PROFILES)];
    // Every chat is ended before any delivery: their names are claimed together.
    const chats = await Promise.all(
      names.map((p) => flowChatWithMessages(stack.app, flow(company), { service: 'sales', profile: p, count: 1, text: () => `TEXT-OF-${p}` })),
    );
    await Promise.all(chats.map(async (chatId) => expect((await http(stack.app, 'POST', `/v1/flow/chats/${chatId}/end`, flow(company))).status).toBe(200)));
    const recs = await Promise.all(chats.map((chatId, i) => settled(company, names[i], chatId)));
    await waitFor('no upload under way', () => settledFilesUnder(folder(company)).length > 0);
    expectAllDelivered(company, recs);
    // One first-choice set per base: x (S, J, M), z (T, H), y (V, W); every other recording is suffixed.
    const plain = recs
      .filter((r) => !r.fileName?.includes(`_${r.id.slice(0, 8)}`))
      .map((r) => r.fileName?.replace(/\.(meta|manifest|vcon)?\.?(txt|html|json)$/, ''));
    expect(plain.sort()).toEqual(['x', 'y', 'z']);
  });
});
