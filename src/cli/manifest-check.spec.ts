import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signEd25519, signingKeyMaterial } from '../security/signing-key-material';
import { buildManifest, canonicalManifestBytes, parseManifest, sha256Hex } from '../transcript/recording-manifest';
import { checkChain, fileProblems, keyFromPem, KeySource, signatureProblems, targetRootOf } from './manifest-check';

const key = signingKeyMaterial(generateKeyPairSync('ed25519').privateKey);
const other = signingKeyMaterial(generateKeyPairSync('ed25519').privateKey);
const signer = (k = key) => ({ keyId: k.keyId, sign: (d: Buffer) => signEd25519(k.privateKey, d) });
const fileKey = (k = key): KeySource => ({ kind: 'file', ...keyFromPem(k.publicKeyPem) });

describe('manifest checks', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wcr-manifest-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  // Delivers a recording's two files and its manifest under `root`, as a target folder holds them.
  function deliver(stem: string, previous: string | null, k = key): { path: string; sha256: string } {
    const dir = join(root, '20260301');
    mkdirSync(dir, { recursive: true });
    const body = Buffer.from(`transcript of ${stem}\n`);
    const meta = Buffer.from(`{"of":"${stem}"}`);
    writeFileSync(join(dir, `${stem}.txt`), body);
    writeFileSync(join(dir, `${stem}.meta.json`), meta);
    const bytes = buildManifest(
      {
        recordingId: `rec-${stem}`,
        chatId: `chat-${stem}`,
        companyId: 'acme',
        files: [
          { name: `20260301/${stem}.meta.json`, bytes: meta.length, sha256: sha256Hex(meta) },
          { name: `20260301/${stem}.txt`, bytes: body.length, sha256: sha256Hex(body) },
        ],
        chainHead: null,
        previousManifestSha256: previous,
        createdAt: new Date(Date.UTC(2026, 2, 1, 0, 0, stem.length)).toISOString(),
      },
      signer(k),
    );
    const path = join(dir, `${stem}.manifest.json`);
    writeFileSync(path, bytes);
    return { path, sha256: sha256Hex(bytes) };
  }
  const problemsOf = async (path: string, keys: KeySource = fileKey()) => {
    const m = parseManifest(readFileSync(path));
    return [...signatureProblems(m, keys), ...(await fileProblems(m, targetRootOf(path, m)))];
  };

  it('accepts a delivered set, the target root worked out from the manifest', async () => {
    const { path } = deliver('a', null);
    const m = parseManifest(readFileSync(path));
    expect(targetRootOf(path, m)).toBe(root);
    expect(m).toMatchObject({ version: 1, keyId: key.keyId, previousManifestSha256: null, chainHead: null });
    expect(await problemsOf(path)).toEqual([]);
  });

  it('names one changed byte, a missing file, a wrong key and a forged signature', async () => {
    const { path } = deliver('a', null);
    const txt = join(root, '20260301', 'a.txt');
    const changed = readFileSync(txt);
    changed[0] ^= 0x01;
    writeFileSync(txt, changed);
    expect(await problemsOf(path)).toEqual([expect.stringMatching(/^changed file: 20260301\/a\.txt is \d+ bytes with sha256/)]);
    unlinkSync(txt);
    expect(await problemsOf(path)).toEqual(['missing file: 20260301/a.txt']);
    deliver('a', null);
    expect(await problemsOf(path, fileKey(other))).toEqual([`wrong key: the manifest was signed with key ${key.keyId}, the key given is ${other.keyId}`]);
    // Forged: a field changed after signing, or a signature made with another key under this keyId.
    const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...m, chatId: 'another-chat' }));
    expect(await problemsOf(path)).toEqual([expect.stringMatching(/^bad signature/)]);
    const forged = { ...m, signature: signEd25519(other.privateKey, canonicalManifestBytes(parseManifest(Buffer.from(JSON.stringify(m))))) };
    writeFileSync(path, JSON.stringify(forged));
    expect(await problemsOf(path)).toEqual([expect.stringMatching(/^bad signature/)]);
    writeFileSync(path, JSON.stringify({ ...m, signature: 'AAAA' }));
    expect(await problemsOf(path)).toEqual([expect.stringMatching(/^bad signature/)]);
  });

  it('picks the key by keyId from a list, and says when it is not listed', () => {
    const { path } = deliver('a', null);
    const m = parseManifest(readFileSync(path));
    const listed: KeySource = { kind: 'url', url: 'http://svc/v1/signing-keys', keys: new Map([[other.keyId, keyFromPem(other.publicKeyPem).key]]) };
    expect(signatureProblems(m, listed)).toEqual([`unknown key: ${key.keyId} is not listed at http://svc/v1/signing-keys`]);
    listed.keys.set(key.keyId, keyFromPem(key.publicKeyPem).key);
    expect(signatureProblems(m, listed)).toEqual([]);
  });

  it('refuses a manifest of the wrong shape, naming the field', () => {
    expect(() => parseManifest(Buffer.from('nope'))).toThrow('not JSON');
    const { path } = deliver('a', null);
    const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(() => parseManifest(Buffer.from(JSON.stringify({ ...m, files: [{ name: '../x', bytes: 1, sha256: 'a'.repeat(64) }] })))).toThrow('files[].name');
    expect(() => parseManifest(Buffer.from(JSON.stringify({ ...m, previousManifestSha256: 'xyz' })))).toThrow('previousManifestSha256');
  });

  it('links a chain and shows a removed manifest as a gap', async () => {
    const first = deliver('a', null);
    const second = deliver('bb', first.sha256);
    deliver('ccc', second.sha256);
    const whole = await checkChain(root, fileKey());
    expect(whole.problems).toEqual([]);
    expect(whole.chains).toEqual([{ companyId: 'acme', order: ['20260301/a.manifest.json', '20260301/bb.manifest.json', '20260301/ccc.manifest.json'] }]);
    unlinkSync(second.path);
    const gap = await checkChain(root, null);
    expect(gap.problems).toEqual([
      expect.stringMatching(new RegExp(`^gap in company acme: the manifest before 20260301/ccc.manifest.json .* ${second.sha256}$`)),
    ]);
  });

  it('explains a gap an erasure notice in the folder accounts for, and only that one', async () => {
    const first = deliver('a', null);
    const second = deliver('bb', first.sha256);
    const third = deliver('ccc', second.sha256);
    const fourth = deliver('dddd', third.sha256);
    deliver('eeeee', fourth.sha256);
    unlinkSync(second.path);
    unlinkSync(fourth.path);
    mkdirSync(join(root, 'erasures'));
    const notice = (companyId: string, sha256: string) => ({
      erasureId: 'er-1',
      companyId,
      requestedAt: '2026-03-02T00:00:00.000Z',
      files: [
        { name: '20260301/bb.txt', removed: true, sha256: 'f'.repeat(64) },
        { name: '20260301/bb.manifest.json', removed: true, sha256 },
      ],
    });
    // a notice of another company, or one naming another digest, explains nothing
    writeFileSync(join(root, 'erasures', 'er-0.json'), JSON.stringify(notice('other', second.sha256)));
    const unexplained = await checkChain(root, null);
    expect(unexplained.erased).toEqual([]);
    expect(unexplained.problems).toHaveLength(2);
    writeFileSync(join(root, 'erasures', 'er-1.json'), JSON.stringify(notice('acme', second.sha256)));
    const report = await checkChain(root, fileKey());
    expect(report.erased).toEqual([
      `erased in company acme: the manifest before 20260301/ccc.manifest.json (recording rec-ccc) was removed by erasure er-1: erasures/er-1.json lists 20260301/bb.manifest.json with sha256 ${second.sha256}`,
    ]);
    // dddd went too, and no notice names it: still a gap
    expect(report.problems).toEqual([
      expect.stringMatching(new RegExp(`^gap in company acme: the manifest before 20260301/eeeee.manifest.json .* ${fourth.sha256}$`)),
    ]);
  });

  it('reports a fork and a second first manifest', async () => {
    const first = deliver('a', null);
    deliver('bb', first.sha256);
    deliver('cc', first.sha256);
    deliver('ddd', null);
    const report = await checkChain(root, null);
    expect(report.problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^company acme: 2 manifests claim to be the first/), expect.stringMatching(/^fork in company acme/)]),
    );
  });
});
