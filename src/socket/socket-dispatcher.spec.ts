import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { AccessAuditService } from '../audit/access-audit.service';
import { Principal } from '../auth/principal';
import { RateLimiter } from '../auth/rate-limiter';
import { GracefulShutdown } from '../common/graceful-shutdown';
import { loadConfig } from '../config/app-config';
import { AppMetrics } from '../metrics/app-metrics';
import { ChatRefDto } from './dto/socket-payloads.dto';
import { MAX_QUEUED_EVENTS_PER_SOCKET, on, SocketDispatcher } from './socket-dispatcher';

type Reply = Record<string, unknown>;

// Just what the dispatcher uses of a socket.io socket: onAny, once('disconnect'), emit, disconnect.
class FakeSocket extends EventEmitter {
  readonly nsp = { name: '/agent' };
  readonly emitted: [string, unknown][] = [];
  disconnected = false;
  private anyListener: ((event: string, ...args: unknown[]) => void) | null = null;
  constructor(readonly data: { principal: Principal }) {
    super();
  }
  onAny(fn: (event: string, ...args: unknown[]) => void): void {
    this.anyListener = fn;
  }
  // What the client sends: an event with an acknowledgement.
  send(event: string, payload: unknown): Promise<Reply> {
    return new Promise((res) => this.anyListener?.(event, payload, res));
  }
  override emit(event: string, ...args: unknown[]): boolean {
    if (event === 'disconnect') return super.emit(event, ...args);
    this.emitted.push([event, args[0]]);
    return true;
  }
  disconnect(): void {
    this.disconnected = true;
    super.emit('disconnect', 'server namespace disconnect');
  }
}

const config = loadConfig({ RATE_LIMIT_SOCKET_PER_SECOND: '100000', RATE_LIMIT_TOKEN_PER_SECOND: '100000' });
const logger = new Logger('spec');
logger.warn = () => undefined;
logger.debug = () => undefined;
const denied: unknown[] = [];
const access = { denied: (...args: unknown[]) => denied.push(args) } as unknown as AccessAuditService;
const dispatcher = () => new SocketDispatcher(new RateLimiter(config), access);
const principal = (expInSeconds: number): Principal => ({ sub: 'a1', company: 'acme', role: 'agent', exp: Math.floor(Date.now() / 1000) + expInSeconds });
const chatId = 'chat-1';

describe('SocketDispatcher', () => {
  afterEach(() => jest.useRealTimers());

  it('at a stop: answers the events already read, refuses later ones with unavailable, and the answer step waits for the queue', async () => {
    const shutdown = new GracefulShutdown();
    const d = new SocketDispatcher(new RateLimiter(config), access, new AppMetrics(), shutdown);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const stored: string[] = [];
    const events = {
      store: on(ChatRefDto, async (_s, dto) => {
        await held;
        stored.push(dto.chatId);
        return { stored: dto.chatId };
      }),
    };
    const s = new FakeSocket({ principal: principal(3600) });
    d.attach(s as unknown as Socket, events, logger);
    const before = [s.send('store', { chatId: 'chat-a' }), s.send('store', { chatId: 'chat-b' })];
    await new Promise((r) => setImmediate(r));
    expect(d.pendingEvents).toBe(2);
    const drained = shutdown.drain('SIGTERM', Date.now() + 5000, Date.now() + 6000);
    // After the start: refused at once, never run.
    expect(await s.send('store', { chatId: 'chat-late' })).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'this instance is shutting down: send again after reconnecting' },
    });
    let done = false;
    void drained.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false); // the answer step waits for the two events read before
    release();
    expect(await Promise.all(before)).toEqual([
      { ok: true, stored: 'chat-a' },
      { ok: true, stored: 'chat-b' },
    ]);
    await drained;
    expect(stored).toEqual(['chat-a', 'chat-b']);
    expect(d.pendingEvents).toBe(0);
  });

  it("runs one socket's events one after the other, in arrival order", async () => {
    const log: string[] = [];
    const slow = (name: string, ms: number) =>
      on(ChatRefDto, async () => {
        log.push(`${name} start`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name} end`);
        return { name };
      });
    const s = new FakeSocket({ principal: principal(3600) });
    dispatcher().attach(s as unknown as Socket, { first: slow('first', 30), second: slow('second', 0) }, logger);
    const [a, b] = await Promise.all([s.send('first', { chatId }), s.send('second', { chatId })]);
    expect([a, b]).toEqual([
      { ok: true, name: 'first' },
      { ok: true, name: 'second' },
    ]);
    expect(log).toEqual(['first start', 'first end', 'second start', 'second end']);
  });

  it('keeps arrival order when the credential limit answers out of order (Redis), and answers a refusal at once', async () => {
    // The first event's count comes back last; the third is refused before the first has run.
    const delays = [40, 0, 0];
    const verdicts = [true, true, false];
    let n = 0;
    const limiter = Object.assign(Object.create(RateLimiter.prototype) as RateLimiter, {
      newSocketBucket: () => ({ take: () => true }),
      takeForPrincipal: () => {
        const i = n++;
        return new Promise<boolean>((r) => setTimeout(() => r(verdicts[i]), delays[i]));
      },
    });
    const log: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const events = {
      first: on(ChatRefDto, async () => {
        log.push('first');
        await held;
        return {};
      }),
      second: on(ChatRefDto, async () => {
        log.push('second');
        return {};
      }),
    };
    const s = new FakeSocket({ principal: principal(3600) });
    new SocketDispatcher(limiter, access).attach(s as unknown as Socket, events, logger);
    const replies = [s.send('first', { chatId }), s.send('second', { chatId }), s.send('second', { chatId })];
    expect(await replies[2]).toEqual({ ok: false, error: { code: 'rate_limited', message: 'too many events, slow down' } });
    expect(log).toEqual([]); // answered before the first event (still waiting for its count) ran
    release();
    expect(await Promise.all(replies.slice(0, 2))).toEqual([{ ok: true }, { ok: true }]);
    expect(log).toEqual(['first', 'second']);
  });

  it("does not make other sockets wait for one socket's event", async () => {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((r) => (release = r));
    const events = {
      hold: on(ChatRefDto, async () => blocked),
      quick: on(ChatRefDto, async () => ({ quick: true })),
    };
    const d = dispatcher();
    const one = new FakeSocket({ principal: principal(3600) });
    const two = new FakeSocket({ principal: principal(3600) });
    d.attach(one as unknown as Socket, events, logger);
    d.attach(two as unknown as Socket, events, logger);
    const held = one.send('hold', { chatId });
    expect(await two.send('quick', { chatId })).toEqual({ ok: true, quick: true });
    release();
    expect(await held).toEqual({ ok: true });
  });

  it('refuses events beyond the per-socket queue with rate_limited, at once', async () => {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((r) => (release = r));
    const s = new FakeSocket({ principal: principal(3600) });
    dispatcher().attach(s as unknown as Socket, { hold: on(ChatRefDto, async () => blocked) }, logger);
    const queued = Array.from({ length: MAX_QUEUED_EVENTS_PER_SOCKET }, () => s.send('hold', { chatId }));
    expect(await s.send('hold', { chatId })).toEqual({ ok: false, error: { code: 'rate_limited', message: expect.any(String) } });
    release();
    expect((await Promise.all(queued)).every((r) => r.ok === true)).toBe(true);
    expect(await s.send('hold', { chatId })).toEqual({ ok: true });
  });

  it('answers events unauthorized once the token has expired, then tells the socket and disconnects it', async () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const s = new FakeSocket({ principal: principal(60) });
    dispatcher().attach(s as unknown as Socket, { ping: on(ChatRefDto, async () => ({ pong: true })) }, logger);
    expect(await s.send('ping', { chatId })).toEqual({ ok: true, pong: true });
    jest.setSystemTime(Date.now() + 60_000);
    // Arrived after the expiry, before the timer's turn.
    expect(await s.send('ping', { chatId })).toEqual({ ok: false, error: { code: 'unauthorized', message: 'token expired' } });
    expect(s.disconnected).toBe(false);
    jest.advanceTimersByTime(60_000);
    expect(s.emitted).toEqual([['auth.expired', { reason: 'token expired' }]]);
    expect(s.disconnected).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('waits out tokens longer than the 2^31-1 ms a timer can hold, and clears the timer on disconnect', () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const timeouts = jest.spyOn(global, 'setTimeout');
    const s = new FakeSocket({ principal: principal(60 * 86_400) });
    dispatcher().attach(s as unknown as Socket, {}, logger);
    // Node fires a longer delay at once (after a warning).
    expect(Math.max(...timeouts.mock.calls.map((c) => c[1] ?? 0))).toBeLessThanOrEqual(2 ** 31 - 1);
    timeouts.mockRestore();
    jest.advanceTimersByTime(2 ** 31);
    expect(s.disconnected).toBe(false);
    jest.advanceTimersByTime(60 * 86_400_000 - 2 ** 31 - 1_000);
    expect(s.disconnected).toBe(false);
    jest.advanceTimersByTime(1_000);
    expect(s.disconnected).toBe(true);

    const t = new FakeSocket({ principal: principal(60 * 86_400) });
    dispatcher().attach(t as unknown as Socket, {}, logger);
    expect(jest.getTimerCount()).toBe(1);
    t.disconnect();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('times each acknowledgement and counts events by outcome, with unknown event names under one label', async () => {
    const metrics = new AppMetrics();
    const s = new FakeSocket({ principal: principal(3600) });
    new SocketDispatcher(new RateLimiter(config), access, metrics).attach(
      s as unknown as Socket,
      { ping: on(ChatRefDto, async () => ({ pong: true })) },
      logger,
    );
    expect(await s.send('ping', { chatId })).toEqual({ ok: true, pong: true });
    expect((await s.send('ping', { chatId: 42 })).ok).toBe(false);
    expect((await s.send('made.up.name', { chatId })).ok).toBe(false);
    const text = await metrics.registry.metrics();
    expect(text).toContain('webchat_socket_events_total{namespace="/agent",event="ping",outcome="ok"} 1');
    expect(text).toContain('webchat_socket_events_total{namespace="/agent",event="ping",outcome="bad_request"} 1');
    expect(text).toContain('webchat_socket_events_total{namespace="/agent",event="unknown",outcome="bad_request"} 1');
    expect(text).toContain('webchat_socket_ack_seconds_count{namespace="/agent",event="ping"} 2');
    expect(text).not.toContain('made.up.name');
    expect(text).toContain('webchat_connected_sockets{namespace="/agent"} 1');
    s.disconnect();
    expect(await metrics.registry.metrics()).toContain('webchat_connected_sockets{namespace="/agent"} 0');
  });
});
