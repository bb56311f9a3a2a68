import { ClientError } from './client-error.js';
import type { AckOf, MessageReply } from './protocol.js';
import { SendQueue } from './send-queue.js';

type Done = (err: Error | null, ack?: AckOf<MessageReply>) => void;

// A scripted connection: records each emit and lets the test answer it.
function harness(retryable?: (e: { code: string; message: string }) => boolean) {
  const emits: { payload: { clientMsgId: string }; done: Done }[] = [];
  const resends: { clientMsgId: string; attempt: number }[] = [];
  let up = true;
  const queue = new SendQueue(
    {
      connected: () => up,
      emit: (payload, _timeout, done) => emits.push({ payload: payload as { clientMsgId: string }, done }),
      sent: () => undefined,
      resend: (r) => resends.push(r),
      retryable,
    },
    { ackTimeoutMs: 1000, retryDelayMs: 5, maxRetryDelayMs: 20 },
  );
  const send = (id: string) => queue.enqueue('c', id, `text ${id}`, { clientMsgId: id });
  return {
    queue,
    emits,
    resends,
    send,
    setUp: (v: boolean) => (up = v),
    ok: (i: number, seq: number) => emits[i].done(null, { ok: true, seq, at: 'now' }),
    refuse: (i: number, code: 'bad_request' | 'rate_limited' | 'unavailable', message: string = code) =>
      emits[i].done(null, { ok: false, error: { code, message } }),
    refuseExpired: (i: number) => emits[i].done(null, { ok: false, error: { code: 'unauthorized', message: 'token expired' } }),
  };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('SendQueue', () => {
  it('finds a message of a chat and text still waiting for its acknowledgement, and settles with it', async () => {
    const h = harness();
    const a = h.send('a');
    void h.send('b');
    await tick();
    const waiting = h.queue.unacknowledged('c', 'text a');
    expect(waiting).not.toBeNull();
    expect(h.queue.unacknowledged('c', 'text nobody sent')).toBeNull();
    expect(h.queue.unacknowledged('other chat', 'text a')).toBeNull();
    h.ok(0, 41);
    expect(await waiting).toEqual(await a);
    expect((await a).seq).toBe(41);
    // Acknowledged: no longer waiting.
    expect(h.queue.unacknowledged('c', 'text a')).toBeNull();
  });

  it('sends one message at a time, in order, and resolves each with its seq', async () => {
    const h = harness();
    const a = h.send('a');
    const b = h.send('b');
    expect(h.emits.map((e) => e.payload.clientMsgId)).toEqual(['a']);
    h.ok(0, 1);
    expect(h.emits.map((e) => e.payload.clientMsgId)).toEqual(['a', 'b']);
    h.ok(1, 2);
    await expect(a).resolves.toMatchObject({ clientMsgId: 'a', seq: 1 });
    await expect(b).resolves.toMatchObject({ clientMsgId: 'b', seq: 2 });
    expect(h.resends).toEqual([]);
  });

  it('after a disconnect the head is sent again with the same clientMsgId, once, when connected again', async () => {
    const h = harness();
    const a = h.send('a');
    h.setUp(false);
    h.queue.disconnected();
    h.emits[0].done(new Error('disconnected')); // the abandoned attempt's callback changes nothing
    expect(h.emits).toHaveLength(1);
    h.setUp(true);
    h.queue.connected();
    expect(h.emits.map((e) => e.payload.clientMsgId)).toEqual(['a', 'a']);
    expect(h.resends).toEqual([{ chatId: 'c', clientMsgId: 'a', attempt: 2 }]);
    h.ok(1, 7);
    await expect(a).resolves.toMatchObject({ seq: 7 });
  });

  it("a late acknowledgement of an abandoned attempt still counts, and the resend's answer is ignored", async () => {
    const h = harness();
    const a = h.send('a');
    const b = h.send('b');
    h.queue.disconnected();
    h.queue.connected();
    h.ok(0, 3); // the first attempt's answer arrives after all
    await expect(a).resolves.toMatchObject({ seq: 3 });
    expect(h.emits.map((e) => e.payload.clientMsgId)).toEqual(['a', 'a', 'b']);
    h.ok(1, 3);
    h.ok(2, 4);
    await expect(b).resolves.toMatchObject({ seq: 4 });
  });

  it('retries rate_limited and unavailable after a delay; other refusals reject that send and the queue goes on', async () => {
    const h = harness();
    const a = h.send('a');
    const b = h.send('b');
    h.refuse(0, 'rate_limited');
    expect(h.emits).toHaveLength(1);
    await tick(10);
    expect(h.emits.map((e) => e.payload.clientMsgId)).toEqual(['a', 'a']);
    h.refuse(1, 'unavailable');
    await tick(30);
    h.refuse(2, 'bad_request');
    await expect(a).rejects.toEqual(new ClientError('bad_request', 'bad_request'));
    expect(h.emits[3].payload.clientMsgId).toBe('b');
    h.ok(3, 1);
    await expect(b).resolves.toMatchObject({ seq: 1 });
  });

  it('retries a refusal the connection calls retryable (a token expired, when a fresh one will come); without the hook it is final', async () => {
    const h = harness((e) => e.code === 'unauthorized' && e.message === 'token expired');
    const a = h.send('a');
    h.refuseExpired(0);
    await tick(10);
    expect(h.emits.map((e) => e.payload.clientMsgId)).toEqual(['a', 'a']);
    h.ok(1, 1);
    await expect(a).resolves.toMatchObject({ seq: 1 });
    const plain = harness();
    const b = plain.send('b');
    plain.refuseExpired(0);
    await expect(b).rejects.toEqual(new ClientError('unauthorized', 'token expired'));
  });

  it('close refuses what waits, with the first reason it was closed with', async () => {
    const h = harness();
    const a = h.send('a');
    h.queue.close(new ClientError('unavailable', 'client closed'));
    await expect(a).rejects.toMatchObject({ code: 'unavailable' });
    await expect(h.send('b')).rejects.toMatchObject({ code: 'unavailable' });
    h.queue.close(new ClientError('unauthorized', 'later'));
    await expect(h.send('c')).rejects.toMatchObject({ code: 'unavailable', message: 'client closed' });
  });
});
