import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, ROOT } from './support/app';

// The client library's published types as a consumer sees them: the package packed by npm (its
// `files`, run `npm run build` first) and unpacked into a consumer's node_modules, then compiled by
// the repository's tsc under each module resolution a consumer may use. Correct uses compile; wrong
// uses of the payloads are errors (a payload type that fell back to `any` would let them through).
const CONSUMER_OK = `import { ClientError, connect, connectAgent, connectCustomer, type JoinReply, type MessageView, type SentMessage } from '@webchat-recorder/client';

export async function ok(url: string, customerToken: string, freshToken: () => Promise<string>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const widget = await connectCustomer({ url, token: customerToken });
  widget.on('message', (m: MessageView) => {
    const text: string = m.text;
    const seq: number = m.seq;
    const role: string = m.from.role;
    seen.push(text, seq, role);
  });
  widget.on('recording.state', ({ state }) => seen.push(state === 'paused'));
  widget.on('status', ({ state }) => seen.push(state));
  widget.on('error', (e: ClientError) => seen.push(e.code));
  const sent: SentMessage = await widget.send('Hello');
  const seq: number = sent.seq;
  const portal = await connectAgent({ url, token: freshToken });
  portal.on('chat.assigned', ({ chatId, customer }) => seen.push(chatId, customer.name));
  portal.on('auth.expired', ({ reason }) => seen.push(reason));
  const reply: JoinReply = await portal.join('chat-1');
  const first: string | undefined = reply.history[0]?.text;
  const state: 'recording' | 'paused' | 'off' = reply.recordingState;
  const paused: 'recording' | 'paused' | 'off' = await portal.pause('chat-1');
  const c = await connect({ role: 'customer', url, token: () => customerToken });
  await c.send('hi');
  return [seen, seq, first, state, paused];
}
`;

// Each line marked "expect TSnnnn" must be that error, and nothing else may be one.
const CONSUMER_WRONG = `import { connectAgent, connectCustomer } from '@webchat-recorder/client';

export async function wrong(url: string, token: string): Promise<unknown[]> {
  const out: unknown[] = [];
  const widget = await connectCustomer({ url, token });
  widget.on('message', (m) => {
    const text: number = m.text; // expect TS2322
    const role: boolean = m.from.role; // expect TS2322
    out.push(text, role);
  });
  const portal = await connectAgent({ url, token: () => token });
  portal.on('recording.state', (e) => {
    const state: number = e.state; // expect TS2322
    out.push(state);
  });
  const reply = await portal.join('chat-1');
  const text: number = reply.history[0].text; // expect TS2322
  const state: number = reply.recordingState; // expect TS2322
  const sent = await widget.send('x');
  const at: number = sent.at; // expect TS2322
  return [out, text, state, at];
}
`;

const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe('the client library as a consumer compiles it', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wcr-client-consumer-'));
    // What `npm publish` would ship, unpacked where a consumer's npm install puts it.
    const packed = join(dir, 'packed');
    mkdirSync(packed);
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packed], { cwd: join(ROOT, 'client'), stdio: 'pipe' });
    const tarball = readdirSync(packed).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    const installed = join(dir, 'node_modules', '@webchat-recorder', 'client');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(packed, tarball), '-C', installed, '--strip-components=1']);
    // Its dependency, as installed by the repository (its own dependencies resolve from there).
    symlinkSync(join(ROOT, 'node_modules', 'socket.io-client'), join(dir, 'node_modules', 'socket.io-client'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(join(dir, 'ok.ts'), CONSUMER_OK);
    writeFileSync(join(dir, 'wrong.ts'), CONSUMER_WRONG);
  });
  afterAll(() => {
    if (dir) cleanupDir(dir);
  });

  const expected = CONSUMER_WRONG.split('\n').flatMap((line, i) => {
    const m = /\/\/ expect (TS\d+)$/.exec(line);
    return m ? [`wrong.ts(${i + 1}): ${m[1]}`] : [];
  });

  it.each([
    ['nodenext', 'nodenext', false],
    ['nodenext', 'nodenext', true],
    ['node16', 'node16', false],
    ['node16', 'node16', true],
    ['esnext', 'bundler', false],
    ['esnext', 'bundler', true],
  ])('--module %s --moduleResolution %s, skipLibCheck %s: no error but the wrong uses', (module, resolution, skipLibCheck) => {
    const args = ['--noEmit', '--pretty', 'false', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', resolution];
    if (skipLibCheck) args.push('--skipLibCheck');
    const r = spawnSync(process.execPath, [tsc, ...args, 'ok.ts', 'wrong.ts'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.map((l) => l.replace(/^(\S+?)\((\d+),\d+\): error (TS\d+):.*$/, '$1($2): $3'))).toEqual(expected);
  });
});
