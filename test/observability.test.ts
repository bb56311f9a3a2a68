import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppHandle, ROOT, cleanupDir, connectError, emit, http, startApp, token, waitFor } from './support/app';
import { endChat, openChat } from './support/chat-driver';
import { SshdHandle, startSshd } from './support/sshd';

// Issue 13, items 4 and 5: one full chat (customer and agent sockets, a resend, refusals, the end,
// delivery by SFTP with a password), then the metrics it moved and the log lines it left.
describe('metrics and structured logs of a full chat', () => {
  let sshd: SshdHandle;
  let app: AppHandle;
  const company = 'obsco';
  const admin = token({ sub: 'admin-1', company, role: 'admin' });
  // Distinctive bodies: none of them may reach a log line.
  const bodies = ['zebra-quartz-customer-body-1', 'walrus-opal-agent-body-2', 'heron-jade-customer-body-3', 'ibis-onyx-bot-body-4'];
  // A second company whose SFTP target has a wrong password: its delivery is retried, then fails.
  const failing = 'obsfail';
  const wrongPassword = 'Wr0ng-Passw0rd-Never-Logged';
  let failedRecordingId = '';
  let failedAttempts = 0;
  let chatId = '';
  let customerToken = '';
  let agentToken = '';
  let recordingId = '';

  beforeAll(async () => {
    sshd = await startSshd();
    // The embedded SQLite database; JSON lines at debug level, the format production uses.
    app = await startApp({ env: { LOG_FORMAT: 'json', LOG_LEVEL: 'debug', DELIVERY_MAX_ATTEMPTS: '2' } });
    const target = await http(app, 'PUT', '/v1/admin/export-target', admin, {
      type: 'sftp',
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      password: sshd.password,
      remoteDir: sshd.remoteDir,
      hostKeySha256: sshd.hostKeySha256,
    });
    expect(target.status).toBe(200);

    const chat = await openChat(app, company, { agentId: 'agent-obs' });
    ({ chatId, customerToken, agentToken } = chat);
    try {
      expect((await emit(chat.customer, 'message', { clientMsgId: 'c1', text: bodies[0] })).ok).toBe(true);
      // A resend of the same clientMsgId: stored once, answered as a duplicate.
      expect((await emit(chat.customer, 'message', { clientMsgId: 'c1', text: bodies[0] })).ok).toBe(true);
      expect((await emit(chat.agent, 'message', { chatId, clientMsgId: 'a1', text: bodies[1] })).ok).toBe(true);
      expect((await emit(chat.customer, 'message', { clientMsgId: 'c2', text: bodies[2] })).ok).toBe(true);
      // Refusals: an event the service does not handle, and a chat that does not exist.
      expect((await emit(chat.agent, 'no.such.event', { text: bodies[1] })).error?.code).toBe('bad_request');
      expect((await emit(chat.agent, 'chat.join', { chatId: 'no-such-chat' })).ok).toBe(false);
      await endChat(chat);
      // After the end the store refuses the customer's message.
      expect((await emit(chat.customer, 'message', { clientMsgId: 'c3', text: bodies[2] })).ok).toBe(false);
    } finally {
      chat.close();
    }
    // A token in a query string and a refused handshake: neither token may be logged.
    await http(app, 'GET', `/v1/admin/settings?token=${encodeURIComponent(agentToken)}`, null);
    await connectError(app, '/agent', customerToken);
    await waitFor('the delivered file', () => sshd.listFiles().length >= 1, 30_000);
    const recs = await waitFor('the delivered recording', async () => {
      const r = await http<{ items?: { id: string; status: string }[] } | { id: string; status: string }[]>(
        app,
        'GET',
        `/v1/admin/recordings?chatId=${chatId}`,
        admin,
      );
      const items = Array.isArray(r.body) ? r.body : (r.body.items ?? []);
      return items.length > 0 && items.every((i) => i.status === 'delivered') && items;
    });
    recordingId = recs[0].id;

    // The failing company's chat runs on REST alone (the flow), so the socket counts above stay its own.
    const failingAdmin = token({ sub: 'admin-2', company: failing, role: 'admin' });
    const failingFlow = token({ sub: 'flow-2', company: failing, role: 'flow' });
    const badTarget = {
      type: 'sftp',
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      password: wrongPassword,
      remoteDir: sshd.remoteDir,
      hostKeySha256: sshd.hostKeySha256,
    };
    expect((await http(app, 'PUT', '/v1/admin/export-target', failingAdmin, badTarget)).status).toBe(200);
    const created = await http<{ chatId: string }>(app, 'POST', `/v1/flow/chats`, failingFlow, { service: 'support' });
    const failingChat = created.body.chatId;
    const started = await http<{ recordingId: string }>(app, 'POST', `/v1/flow/chats/${failingChat}/recordings`, failingFlow, { profile: 'agent' });
    expect(started.status).toBe(201);
    failedRecordingId = started.body.recordingId;
    expect((await http(app, 'POST', `/v1/flow/chats/${failingChat}/messages`, failingFlow, { text: bodies[3] })).status).toBe(201);
    expect((await http(app, 'POST', `/v1/flow/chats/${failingChat}/end`, failingFlow)).status).toBe(200);
    const failed = await waitFor('the failed delivery', async () => {
      const r = await http<{ status: string; attempts: number }>(app, 'GET', `/v1/admin/recordings/${failedRecordingId}`, failingAdmin);
      return r.body.status === 'failed' && r.body;
    });
    failedAttempts = failed.attempts;
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
    await sshd?.destroy();
  });

  // One sample of the Prometheus text: the value of `name{labels}` (labels in any order), summed
  // over the series that match.
  type Scrape = ((name: string, labels?: Record<string, string>) => number) & { names: Set<string> };
  async function scrape(): Promise<Scrape> {
    const r = await fetch(`${app.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    const samples = text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
        if (!m) throw new Error(`not a Prometheus sample: ${l}`);
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
        return { name: m[1], labels, value: Number(m[3]) };
      });
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
    return Object.assign(value, { names: new Set(samples.map((s) => s.name)) });
  }

  it('counts and times what the chat did, with the right labels', async () => {
    const m = await scrape();
    // Ack latency by namespace and event; events by outcome.
    expect(m('webchat_socket_ack_seconds_count', { namespace: '/customer', event: 'message' })).toBeGreaterThanOrEqual(4);
    expect(m('webchat_socket_ack_seconds_count', { namespace: '/agent', event: 'message' })).toBeGreaterThanOrEqual(1);
    expect(m('webchat_socket_ack_seconds_bucket', { namespace: '/agent', event: 'chat.join', le: '+Inf' })).toBeGreaterThanOrEqual(2);
    expect(m('webchat_socket_events_total', { namespace: '/customer', event: 'message', outcome: 'ok' })).toBe(3);
    expect(m('webchat_socket_events_total', { namespace: '/customer', event: 'message', outcome: 'conflict' })).toBe(1);
    expect(m('webchat_socket_events_total', { namespace: '/agent', event: 'unknown', outcome: 'bad_request' })).toBe(1);
    expect(m('webchat_socket_events_total', { namespace: '/agent', event: 'chat.join', outcome: 'ok' })).toBe(1);
    expect(m('webchat_socket_events_total', { namespace: '/agent', event: 'chat.end', outcome: 'ok' })).toBe(1);
    // Client-chosen event names never become series of their own.
    expect(m('webchat_socket_events_total', { event: 'no.such.event' })).toBe(0);
    // Connections: accepted per namespace, and the refused handshake by its code.
    expect(m('webchat_socket_connections_total', { namespace: '/customer', outcome: 'accepted' })).toBe(1);
    expect(m('webchat_socket_connections_total', { namespace: '/agent', outcome: 'accepted' })).toBe(1);
    expect(
      m('webchat_socket_connections_total', { namespace: '/agent', outcome: 'forbidden' }) +
        m('webchat_socket_connections_total', { namespace: '/agent', outcome: 'unauthorized' }),
    ).toBe(1);
    expect(m('webchat_connected_sockets', { namespace: '/customer' })).toBe(0);
    // Messages by outcome and the group commit's batch sizes.
    expect(m('webchat_messages_total', { outcome: 'stored' })).toBe(4); // 3 on sockets, 1 from the flow
    expect(m('webchat_messages_total', { outcome: 'duplicate' })).toBe(1);
    expect(m('webchat_messages_total', { outcome: 'refused' })).toBe(1);
    expect(m('webchat_messages_per_commit_sum')).toBe(6);
    expect(m('webchat_messages_per_commit_count')).toBeGreaterThanOrEqual(1);
    expect(m('webchat_messages_per_commit_bucket', { le: '512' })).toBe(m('webchat_messages_per_commit_count'));
    // Delivery: the outcome, the time from the chat's end, and the SFTP operations it took.
    expect(m('webchat_deliveries_total', { result: 'delivered' })).toBe(1);
    // The wrong password: every attempt but the last is a retry, the last gives up.
    expect(failedAttempts).toBe(2);
    expect(m('webchat_deliveries_total', { result: 'retry' })).toBe(failedAttempts - 1);
    expect(m('webchat_deliveries_total', { result: 'failed' })).toBe(1);
    expect(m('webchat_sftp_operation_seconds_count', { operation: 'connect', outcome: 'error' })).toBe(failedAttempts);
    expect(m('webchat_chat_end_to_delivered_seconds_count')).toBe(1);
    expect(m('webchat_chat_end_to_delivered_seconds_sum')).toBeGreaterThan(0);
    expect(m('webchat_chat_end_to_delivered_seconds_sum')).toBeLessThan(60);
    expect(m('webchat_sftp_operation_seconds_count', { operation: 'connect', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(m('webchat_sftp_operation_seconds_count', { operation: 'put', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(
      m('webchat_sftp_operation_seconds_count', { operation: 'posixRename', outcome: 'ok' }) +
        m('webchat_sftp_operation_seconds_count', { operation: 'rename', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(m('webchat_outbox_jobs', { state: 'done' })).toBe(1);
    expect(m('webchat_outbox_jobs', { state: 'queued' })).toBe(0);
    expect(m('webchat_outbox_jobs', { state: 'failed' })).toBe(1);
    // The default process metrics.
    expect(m('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(m('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(m('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('has every metric the Grafana dashboard in docs/ queries', async () => {
    const m = await scrape();
    const dashboard = readFileSync(join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/\b((?:webchat|process|nodejs)_[a-z0-9_]+)/g)].map((x) => x[1]));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect([name, m.names.has(name)]).toEqual([name, true]);
  });

  it('logs JSON lines that name the chat, company and recording, and never a body, a token or a password', () => {
    const out = app.stdout();
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(10);
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
    for (const p of parsed) {
      expect(typeof p.level).toBe('string');
      expect(typeof p.time).toBe('string');
      expect(typeof p.msg).toBe('string');
    }
    // Every line that mentions the chat carries it as a field; the service's own lines about it
    // (not the HTTP access lines) carry the company too.
    const aboutChat = parsed.filter((p, i) => lines[i].includes(chatId));
    expect(aboutChat.length).toBeGreaterThan(5);
    for (const p of aboutChat) expect([p.msg, p.chatId]).toEqual([p.msg, chatId]);
    for (const p of aboutChat.filter((x) => x.context !== undefined && x.context !== 'HttpRequest')) expect([p.msg, p.companyId]).toEqual([p.msg, company]);
    const msgs = aboutChat.map((p) => p.msg);
    for (const expected of ['chat created', 'agent joined', 'chat ended', 'recording produced', 'recording delivered']) expect(msgs).toContain(expected);
    // Lines of socket events carry the event, its namespace and the chat.
    const refused = parsed.find((p) => p.event === 'unknown' && p.namespace === '/agent');
    expect(refused).toMatchObject({ companyId: company, userId: 'agent-obs' });
    // Delivery lines name the recording.
    const delivery = parsed.filter((p) => p.context === 'DeliveryWorker' || p.context === 'SftpTransport');
    expect(delivery.length).toBeGreaterThan(0);
    for (const p of delivery) expect([p.msg, p.recordingId]).toEqual([p.msg, p.companyId === failing ? failedRecordingId : recordingId]);
    // A delivery is the worker's, not a request's: no line of it carries the request id of the
    // chat end that woke the worker (nor of any later request, on its retries).
    for (const p of delivery) expect([p.msg, p.reqId]).toEqual([p.msg, undefined]);
    // Each HTTP request's own line names its context too.
    const httpLines = parsed.filter((p) => p.req !== undefined && p.res !== undefined);
    expect(httpLines.length).toBeGreaterThan(3);
    for (const p of httpLines) expect([p.msg, p.context]).toEqual([p.msg, 'HttpRequest']);
    expect(parsed.find((p) => p.msg === 'recording delivered')).toMatchObject({ recordingId, chatId, companyId: company });
    expect(parsed.find((p) => p.msg === 'recording produced')).toMatchObject({ recordingId, chatId, companyId: company });
    const failures = parsed.filter((p) => p.context === 'DeliveryWorker' && typeof p.msg === 'string' && p.msg.startsWith('delivery failed'));
    expect(failures).toHaveLength(failedAttempts);
    for (const p of failures) expect(p).toMatchObject({ recordingId: failedRecordingId, companyId: failing, chatId: expect.any(String) });
    // The query-string token was redacted, the line kept.
    expect(parsed.some((p) => JSON.stringify(p.req ?? '').includes('token=[redacted]'))).toBe(true);

    const all = app.logs();
    for (const [what, secret] of [
      ...bodies.map((b) => ['message body', b]),
      ['customer token', customerToken],
      ['agent token', agentToken],
      ['admin token', admin],
      ['SFTP password', sshd.password],
      ['wrong SFTP password', wrongPassword],
    ]) {
      expect([what, all.includes(secret)]).toEqual([what, false]);
    }
  });
});
