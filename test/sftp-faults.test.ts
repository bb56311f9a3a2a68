// SftpTransport against faults a real OpenSSH server cannot be made to show: a scripted in-process
// SFTP server (no posix-rename, overwriting RENAME, stalled WRITEs, lost rename replies) and a TCP
// proxy that resets or freezes connections. No NestJS app: the transport class is used directly.
import { randomBytes } from 'node:crypto';
import { HostKeyMismatchError, SftpTimeoutError, SftpTransport } from '../src/export/sftp.transport';
import { bufferFile, ContentChangedError, DeliveryFile, PermanentDeliveryError, temporaryName } from '../src/export/transport';
import { SftpTargetConfig } from '../src/export/export-target.types';
import { ScriptedFaults, ScriptedSftpServer, startScriptedSftpServer } from './support/scripted-sftp-server';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';

const OP_TIMEOUT_MS = 1000;
const REMOTE_DIR = '/upload';

type TestFile = DeliveryFile & { body: Buffer };

function fileOf(relPath: string, content: Buffer | string, tempTag = 'rec1'): TestFile {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return { ...bufferFile({ companyId: 'acme', relPath, tempTag }, body), body };
}

const tempOf = (f: DeliveryFile) => `${REMOTE_DIR}/${temporaryName(f)}`;
const finalOf = (f: DeliveryFile) => `${REMOTE_DIR}/${f.relPath}`;

describe('SftpTransport under faults (scripted SFTP server)', () => {
  // Everything a test starts, closed in reverse order whatever the outcome.
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  async function server(opts: Partial<ScriptedFaults> & { ident?: string } = {}): Promise<ScriptedSftpServer> {
    const s = await startScriptedSftpServer({ remoteDir: REMOTE_DIR, ...opts });
    cleanups.push(() => s.close());
    return s;
  }
  async function proxyTo(s: ScriptedSftpServer): Promise<TcpProxy> {
    const p = await startTcpProxy(s.port);
    cleanups.push(() => p.close());
    return p;
  }
  function transport(): SftpTransport {
    const t = new SftpTransport(OP_TIMEOUT_MS);
    cleanups.push(() => t.close());
    return t;
  }
  function targetOf(s: ScriptedSftpServer, over: Partial<SftpTargetConfig> = {}): SftpTargetConfig {
    return {
      type: 'sftp',
      host: s.host,
      port: s.port,
      username: s.username,
      password: s.password,
      remoteDir: REMOTE_DIR,
      hostKeySha256: s.hostKeySha256,
      ...over,
    };
  }
  const auths = (s: ScriptedSftpServer) => s.ops.filter((o) => o === 'AUTH ok').length;
  const renamesTo = (s: ScriptedSftpServer, path: string) => s.ops.filter((o) => /^(POSIX-)?RENAME /.test(o) && o.endsWith(` -> ${path}`));

  describe('rename path', () => {
    it('without posix-rename: uploads to the temporary name, then plain RENAME', async () => {
      const s = await server({ posixRename: false });
      const f = fileOf('chat-1.html', '<p>hello</p>');

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.toString()).toBe('<p>hello</p>');
      expect(s.ops).toContain(`OPEN ${tempOf(f)} w`);
      expect(s.ops).toContain(`RENAME ${tempOf(f)} -> ${finalOf(f)}`);
      // The bytes only ever went to the temporary name.
      expect(s.ops.filter((o) => o.startsWith('WRITE ')).every((o) => o.startsWith(`WRITE ${tempOf(f)} `))).toBe(true);
      expect(s.ops.some((o) => o.includes('POSIX-RENAME') || o.startsWith('EXTENDED'))).toBe(false);
    });

    it('streams a body of many chunks to a fixed-length temporary name', async () => {
      const s = await server({ posixRename: false });
      const chunks = Array.from({ length: 40 }, (_, i) => Buffer.from(`chunk ${i} `.repeat(3000)));
      const whole = Buffer.concat(chunks);
      const relPath = 'n'.repeat(250) + '.txt';
      const f: DeliveryFile = {
        ...fileOf(relPath, whole),
        content: async function* () {
          yield* chunks;
        },
      };

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(s.files.get(finalOf(f))?.equals(whole)).toBe(true);
      expect(tempOf(f)).toMatch(new RegExp(`^${REMOTE_DIR}/\\.[0-9a-f]{32}\\.part$`));
      expect(s.ops).toContain(`OPEN ${tempOf(f)} w`);
    });

    it('a body that differs from its measure is not renamed into place, and the temporary upload is removed', async () => {
      const s = await server({ posixRename: true });
      const f: DeliveryFile = {
        ...fileOf('changed.txt', 'as measured'),
        content: async function* () {
          yield Buffer.from('something else');
        },
      };

      await expect(transport().deliver(targetOf(s), [f])).rejects.toBeInstanceOf(ContentChangedError);

      expect(s.list(REMOTE_DIR)).toEqual([]);
      expect(s.ops).toContain(`REMOVE ${tempOf(f)}`);
    });

    it('with posix-rename advertised: uses it', async () => {
      const s = await server({ posixRename: true });
      const f = fileOf('chat-2.html', '<p>posix</p>');

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.toString()).toBe('<p>posix</p>');
      expect(s.ops).toContain(`POSIX-RENAME ${tempOf(f)} -> ${finalOf(f)}`);
      expect(s.ops.some((o) => o.startsWith('RENAME '))).toBe(false);
      // posix-rename replaces silently, so the transport must have looked at the final name first.
      expect(s.ops.indexOf(`LSTAT ${finalOf(f)}`)).toBeGreaterThan(-1);
      expect(s.ops.indexOf(`LSTAT ${finalOf(f)}`)).toBeLessThan(s.ops.indexOf(`POSIX-RENAME ${tempOf(f)} -> ${finalOf(f)}`));
    });

    it('after the open, sends the mode, the writes and the close without waiting for their replies', async () => {
      const s = await server({ posixRename: false, replyDelayMs: 40 });
      const f = fileOf('chat-p.html', '<p>pipelined</p>');

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(s.files.get(finalOf(f))?.toString()).toBe('<p>pipelined</p>');
      // The open's reply (the handle) is waited for; what uses the handle is not.
      expect(s.pipelined).toEqual(['WRITE', 'CLOSE']);
      const onTemp = s.ops.filter((o) => o.includes(tempOf(f)));
      expect(onTemp.slice(0, 3)).toEqual([`OPEN ${tempOf(f)} w`, `WRITE ${tempOf(f)} @0+16`, `CLOSE ${tempOf(f)}`]);
    });

    it('a refused write fails the upload although the close went out behind it: nothing renamed, the partial upload removed', async () => {
      const s = await server({ posixRename: false, replyDelayMs: 20, refuseWrites: true });
      const f = fileOf('chat-q.html', 'x');

      await expect(transport().deliver(targetOf(s), [f])).rejects.toThrow(/No space left on device/);

      expect(s.pipelined).toEqual(['WRITE', 'CLOSE']);
      expect(s.ops).toContain(`WRITE-REFUSED ${tempOf(f)} @0`);
      expect(s.ops.some((o) => o.startsWith('RENAME ') || o.startsWith('POSIX-RENAME '))).toBe(false);
      expect(s.files.has(finalOf(f))).toBe(false);
      // nor is what was written left under the temporary name
      expect(s.ops).toContain(`REMOVE ${tempOf(f)}`);
      expect(s.files.has(tempOf(f))).toBe(false);
    });

    it('creates a missing sub-folder once and delivers into it', async () => {
      const s = await server();
      const t = transport();
      const a = fileOf('2024/a.html', 'a', 'ta');
      const b = fileOf('2024/b.html', 'b', 'tb');

      await expect(t.deliver(targetOf(s), [a])).resolves.toEqual(['delivered']);
      await expect(t.deliver(targetOf(s), [b])).resolves.toEqual(['delivered']);

      expect(s.folders.has(`${REMOTE_DIR}/2024`)).toBe(true);
      expect(s.list(REMOTE_DIR)).toEqual([`${REMOTE_DIR}/2024/a.html`, `${REMOTE_DIR}/2024/b.html`]);
      expect(s.ops.filter((o) => o.startsWith('MKDIR '))).toEqual([`MKDIR ${REMOTE_DIR}/2024`]);
    });
  });

  describe('the final name already exists', () => {
    const kinds: [string, Partial<ScriptedFaults>][] = [
      ['posix-rename server', { posixRename: true }],
      ['plain-rename server (OpenSSH semantics)', { posixRename: false, renameOverwrites: false }],
      ['plain-rename server whose RENAME overwrites', { posixRename: false, renameOverwrites: true }],
    ];

    it.each(kinds)('same content → already_present, temp removed, file untouched (%s)', async (_name, faults) => {
      const s = await server(faults);
      const f = fileOf('chat-3.html', 'same bytes');
      s.files.set(finalOf(f), Buffer.from('same bytes'));

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['already_present']);

      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.toString()).toBe('same bytes');
      expect(s.ops).toContain(`REMOVE ${tempOf(f)}`);
    });

    it.each(kinds)('other content → PermanentDeliveryError, never overwritten (%s)', async (_name, faults) => {
      const s = await server(faults);
      const f = fileOf('chat-4.html', 'new bytes');
      s.files.set(finalOf(f), Buffer.from('someone else'));

      await expect(transport().deliver(targetOf(s), [f])).rejects.toThrow(PermanentDeliveryError);

      expect(s.files.get(finalOf(f))?.toString()).toBe('someone else');
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      // The transport looks before it renames: nothing is even attempted onto the taken name.
      expect(renamesTo(s, finalOf(f))).toEqual([]);
      expect(s.ops).toContain(`REMOVE ${tempOf(f)}`);
    });
  });

  describe('a server that says it is OpenSSH (its RENAME never replaces a file)', () => {
    const openssh = { ident: 'OpenSSH_9.2p1 Debian-2+deb12u3', posixRename: true, renameOverwrites: false };

    it('renames with plain RENAME at once, without looking at the final name first', async () => {
      const s = await server(openssh);
      const f = fileOf('chat-o.html', '<p>openssh</p>');

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.ops).toContain(`RENAME ${tempOf(f)} -> ${finalOf(f)}`);
      expect(s.ops.some((o) => o.startsWith('POSIX-RENAME') || o.startsWith('LSTAT') || o.startsWith('STAT'))).toBe(false);
    });

    it('same content already there: the refused RENAME leads to the look, already_present, temp removed', async () => {
      const s = await server(openssh);
      const f = fileOf('chat-o2.html', 'same bytes');
      s.files.set(finalOf(f), Buffer.from('same bytes'));

      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['already_present']);

      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.ops).toContain(`LSTAT ${finalOf(f)}`);
      expect(s.ops).toContain(`REMOVE ${tempOf(f)}`);
    });

    it('other content already there: PermanentDeliveryError, never overwritten, temp removed', async () => {
      const s = await server(openssh);
      const f = fileOf('chat-o3.html', 'new bytes');
      s.files.set(finalOf(f), Buffer.from('someone else'));

      await expect(transport().deliver(targetOf(s), [f])).rejects.toThrow(PermanentDeliveryError);

      expect(s.files.get(finalOf(f))?.toString()).toBe('someone else');
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.ops).toContain(`REMOVE ${tempOf(f)}`);
    });
  });

  describe('lost replies and transient failures', () => {
    it.each([
      ['posix-rename', true],
      ['plain rename', false],
    ])('a %s whose reply is lost: the retry reports already_present, one file', async (_name, posixRename) => {
      const s = await server({ posixRename, dropAfterRenameOnce: true });
      const t = transport();
      const f = fileOf('chat-5.html', 'exactly once');

      await expect(t.deliver(targetOf(s), [f])).rejects.toThrow();
      expect(s.ops.some((o) => o.startsWith('DROP after'))).toBe(true);

      await expect(t.deliver(targetOf(s), [f])).resolves.toEqual(['already_present']);
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.toString()).toBe('exactly once');
      expect(auths(s)).toBe(2); // the broken connection was not reused
    });

    it('a plain RENAME refused once (name still free): rejects as retryable, the retry delivers', async () => {
      const s = await server({ posixRename: false, failRenameOnce: true });
      const t = transport();
      const f = fileOf('chat-6.html', 'second try');

      const err = await t.deliver(targetOf(s), [f]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(PermanentDeliveryError);
      expect(s.files.has(finalOf(f))).toBe(false);

      await expect(t.deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.toString()).toBe('second try');
    });
  });

  describe('stalls and resets', () => {
    it('a server that stops answering mid-write: SftpTimeoutError in bounded time, then a fresh connection delivers once', async () => {
      const s = await server({ stallOnWrite: 64 * 1024 });
      const t = transport();
      const content = randomBytes(512 * 1024);
      const f = fileOf('big-1.bin', content);

      const started = Date.now();
      await expect(t.deliver(targetOf(s), [f])).rejects.toThrow(SftpTimeoutError);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(OP_TIMEOUT_MS - 50);
      expect(took).toBeLessThan(OP_TIMEOUT_MS + 2000);
      expect(s.ops.some((o) => o.startsWith(`WRITE-STALLED ${tempOf(f)}`))).toBe(true);
      expect(s.files.has(finalOf(f))).toBe(false);

      s.setFault({ stallOnWrite: false });
      await expect(t.deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(auths(s)).toBe(2); // the stalled connection was discarded, not reused
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.equals(content)).toBe(true);
      expect(renamesTo(s, finalOf(f))).toHaveLength(1);
    });

    it('a network that freezes during the handshake: connect gives up in bounded time, then recovers', async () => {
      const s = await server();
      const p = await proxyTo(s);
      const t = transport();
      const f = fileOf('chat-7.html', 'after the freeze');
      p.stall(true);

      const started = Date.now();
      await expect(t.deliver(targetOf(s, { port: p.port }), [f])).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(OP_TIMEOUT_MS + 2000);
      expect(auths(s)).toBe(0);

      p.stall(false);
      await expect(t.deliver(targetOf(s, { port: p.port }), [f])).resolves.toEqual(['delivered']);
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
    });

    it('a connection reset mid-upload: rejects, nothing final; the retry overwrites the temp and delivers once', async () => {
      const s = await server({ posixRename: false });
      const p = await proxyTo(s);
      const t = transport();
      const content = randomBytes(2 * 1024 * 1024);
      const f = fileOf('big-2.bin', content);
      const target = targetOf(s, { port: p.port });
      p.resetAfterBytes(1024 * 1024);

      const started = Date.now();
      const err = await t.deliver(target, [f]).then(
        () => null,
        (e: unknown) => e,
      );
      // The reset itself fails the upload, at once: not the deadline, and not as a conflict.
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(SftpTimeoutError);
      expect(err).not.toBeInstanceOf(PermanentDeliveryError);
      expect(Date.now() - started).toBeLessThan(OP_TIMEOUT_MS);
      expect(s.files.has(finalOf(f))).toBe(false);
      // The cut came mid-upload: a partial temporary file is left behind.
      const partial = s.files.get(tempOf(f));
      expect(partial).toBeDefined();
      expect(partial?.length ?? 0).toBeGreaterThan(0);
      expect(partial?.length ?? 0).toBeLessThan(content.length);

      p.resetAfterBytes(null);
      await expect(t.deliver(target, [f])).resolves.toEqual(['delivered']);

      expect(p.connections()).toBe(2);
      expect(s.list(REMOTE_DIR)).toEqual([finalOf(f)]);
      expect(s.files.get(finalOf(f))?.equals(content)).toBe(true);
      expect(renamesTo(s, finalOf(f))).toHaveLength(1);
      // The stable temp name was reopened with truncation, not appended to.
      expect(s.ops.filter((o) => o === `OPEN ${tempOf(f)} w`)).toHaveLength(2);
    });
  });

  describe('host key pinning', () => {
    it('a wrong fingerprint: HostKeyMismatchError naming the server key, nothing written', async () => {
      const s = await server();
      const wrong = 'SHA256:' + Buffer.alloc(32).toString('base64').replace(/=+$/, '');
      const f = fileOf('chat-8.html', 'secret');

      const err = await transport()
        .deliver(targetOf(s, { hostKeySha256: wrong }), [f])
        .then(
          () => null,
          (e: unknown) => e,
        );

      expect(err).toBeInstanceOf(HostKeyMismatchError);
      expect((err as Error).message).toContain(s.hostKeySha256);
      expect(s.files.size).toBe(0);
      expect(auths(s)).toBe(0); // the password was never sent
      expect(s.ops.some((o) => o.startsWith('OPEN '))).toBe(false);
    });
  });

  describe('connection reuse', () => {
    it('20 files in sequence use one connection', async () => {
      const s = await server();
      const t = transport();
      const files = Array.from({ length: 20 }, (_, i) => fileOf(`seq-${i}.txt`, `file ${i}`, `t${i}`));

      for (const f of files) await expect(t.deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);

      expect(auths(s)).toBe(1);
      expect(s.list(REMOTE_DIR)).toEqual(files.map(finalOf).sort());
    });

    it('10 concurrent deliveries use at most 2 connections', async () => {
      const s = await server();
      const t = transport();
      const files = Array.from({ length: 10 }, (_, i) => fileOf(`par-${i}.txt`, `file ${i}`, `t${i}`));

      const results = await Promise.all(files.map((f) => t.deliver(targetOf(s), [f])));

      expect(results).toEqual(files.map(() => ['delivered']));
      expect(auths(s)).toBeGreaterThanOrEqual(1);
      expect(auths(s)).toBeLessThanOrEqual(2);
      expect(s.list(REMOTE_DIR)).toEqual(files.map(finalOf).sort());
      for (const f of files) expect(s.files.get(finalOf(f))?.equals(f.body)).toBe(true);
    });

    it('warm() opens the connection the next delivery uses (also one that starts before it is up)', async () => {
      const s = await server();
      const t = transport();
      t.warm(targetOf(s));
      t.warm(targetOf(s));
      const f = fileOf('warm-1.txt', 'warmed');
      await expect(t.deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);
      await expect(t.deliver(targetOf(s), [fileOf('warm-2.txt', 'again', 't2')])).resolves.toEqual(['delivered']);
      expect(auths(s)).toBe(1);
    });

    it('warm() towards a target that does not answer throws nothing; the delivery reports the failure', async () => {
      const s = await server();
      const p = await proxyTo(s);
      p.stall(true);
      const t = transport();
      t.warm(targetOf(s, { port: p.port }));
      await expect(t.deliver(targetOf(s, { port: p.port }), [fileOf('warm-3.txt', 'x')])).rejects.toThrow();
      expect(s.list(REMOTE_DIR)).toEqual([]);
    });

    it('uploads a multi-megabyte body with pipelined writes, byte for byte, in order of offsets', async () => {
      const s = await server();
      const content = randomBytes(3 * 1024 * 1024 + 17);
      const chunks = Array.from({ length: Math.ceil(content.length / 500_000) }, (_, i) => content.subarray(i * 500_000, (i + 1) * 500_000));
      const f: DeliveryFile = {
        ...fileOf('piped.bin', content),
        content: async function* () {
          yield* chunks;
        },
      };
      await expect(transport().deliver(targetOf(s), [f])).resolves.toEqual(['delivered']);
      expect(s.files.get(finalOf(f))?.equals(content)).toBe(true);
      const writes = s.ops.filter((o) => o.startsWith(`WRITE ${tempOf(f)} `));
      // The scripted server announces no limits: requests of at most ~32 KB, several in flight.
      expect(writes.length).toBeGreaterThan(content.length / 32_768);
      expect(s.ops.indexOf(`CLOSE ${tempOf(f)}`)).toBeGreaterThan(s.ops.lastIndexOf(writes[writes.length - 1]));
    });
  });
});
