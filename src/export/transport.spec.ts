import { createHash } from 'node:crypto';
import { ContentChangedError, DeliveryFile, measuredContent } from './transport';

function fileOf(measured: string, streamed: string[], replayed?: boolean): DeliveryFile {
  return {
    companyId: 'co',
    relPath: 'a.txt',
    tempTag: 'job-1',
    bytes: Buffer.byteLength(measured),
    sha256: createHash('sha256').update(measured).digest('hex'),
    content: async function* () {
      for (const s of streamed) yield Buffer.from(s);
    },
    replayed,
  };
}

async function drained(f: DeliveryFile): Promise<() => void> {
  const body = measuredContent(f);
  const out: Buffer[] = [];
  for await (const c of body.chunks) out.push(c);
  expect(Buffer.concat(out).toString()).toBe((await collect(f)).toString());
  return () => body.check();
}

async function collect(f: DeliveryFile): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of f.content()) out.push(c);
  return Buffer.concat(out);
}

describe('measuredContent', () => {
  it('passes a body streamed as measured, in any chunking, replayed or not', async () => {
    for (const replayed of [undefined, false, true]) {
      expect(await drained(fileOf('hello world', ['hel', 'lo ', 'world'], replayed))).not.toThrow();
    }
  });

  it('hashes a body rendered again: the same length with other bytes is refused', async () => {
    expect(await drained(fileOf('hello world', ['HELLO WORLD']))).toThrow(ContentChangedError);
    expect(await drained(fileOf('hello world', ['hello']))).toThrow(ContentChangedError);
  });

  it('counts a replayed body (the bytes measured, from memory or the spool) without hashing it again', async () => {
    expect(await drained(fileOf('hello world', ['hello'], true))).toThrow(ContentChangedError);
    expect(await drained(fileOf('hello world', ['hello world!'], true))).toThrow(ContentChangedError);
    // Not hashed: a replay is trusted to be the very bytes measured.
    expect(await drained(fileOf('hello world', ['HELLO WORLD'], true))).not.toThrow();
  });
});
