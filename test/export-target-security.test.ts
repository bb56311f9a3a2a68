import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppHandle, cleanupDir, freePort, http, startApp, token } from './support/app';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';
import { appStack } from './support/stack';

type Err = { statusCode: number; code: string; message: string };
type Check = { ok: boolean; error?: { code: string; message: string } };

const KEY = 'SHA256:' + 'C'.repeat(43);
const target = (host: string, port: number) => ({ type: 'sftp', host, port, username: 'u', password: 'pw-' + port, remoteDir: '/in', hostKeySha256: KEY });

// The export-target check must not be a port scanner, and no target may point at link-local,
// unspecified or multicast addresses (nor, in production, at internal ones unless allowed).
describe('export target address policy and check answers', () => {
  const stack = appStack({ prefix: 'xtsec', env: { SFTP_OPERATION_TIMEOUT_MS: '1500', EXPORT_TARGET_CHECKS_PER_MINUTE: '5' } });
  let prod: AppHandle;
  let web: Server;
  let silent: TcpProxy;
  let spy: TcpProxy;

  beforeAll(async () => {
    web = createServer((_, res) => res.end('hello'));
    await new Promise<void>((res) => web.listen(0, '127.0.0.1', res));
    const webPort = (web.address() as AddressInfo).port;
    // Accepts connections and never answers.
    silent = await startTcpProxy(webPort, { stalled: true });
    // Counts connections: nothing may reach it through a refused address.
    spy = await startTcpProxy(webPort, { stalled: true });
    prod = await startApp({ databaseUrl: stack.db.url, env: { NODE_ENV: 'production', EXPORT_TARGET_ALLOWED_HOSTS: 'localhost, 192.168.77.0/24' } });
  });
  afterAll(async () => {
    for (const a of [stack.app, prod]) {
      await a?.stop();
      if (a) cleanupDir(a.workDir);
    }
    await silent?.close();
    await spy?.close();
    await new Promise((res) => web?.close(res));
  });

  it('refuses link-local, unspecified and multicast hosts, also behind a name or an IPv4-mapped IPv6 address', async () => {
    const admin = token({ sub: 'adm', company: 'xt-refuse', role: 'admin' });
    // '2852039166' and '0' are names that the resolver turns into 169.254.169.254 and 0.0.0.0.
    for (const host of ['169.254.169.254', '0.0.0.0', '::', '::ffff:169.254.169.254', 'fe80::1', '224.0.0.1', 'ff02::1', '2852039166', '0']) {
      const put = await http<Err>(stack.app, 'PUT', '/v1/admin/export-target', admin, target(host, 22));
      expect([host, put.status, put.body.code]).toEqual([host, 400, 'bad_request']);
      expect(put.body.message).toMatch(/^host: host is not allowed/);
    }
    expect((await http(stack.app, 'GET', '/v1/admin/export-target', admin)).body).toEqual({ type: 'local' });
  });

  it('answers every network failure of a check with the same message, whatever listens on the port', async () => {
    const admin = token({ sub: 'adm', company: 'xt-scan', role: 'admin' });
    const answers: Check[] = [];
    // Closed, MariaDB (a non-SSH banner), HTTP (silent until spoken to), and silent for good.
    for (const port of [await freePort(), 3306, (web.address() as AddressInfo).port, silent.port]) {
      expect((await http(stack.app, 'PUT', '/v1/admin/export-target', admin, target('127.0.0.1', port))).status).toBe(200);
      const check = await http<Check>(stack.app, 'POST', '/v1/admin/export-target/check', admin);
      expect(check.status).toBe(200);
      answers.push(check.body);
    }
    expect(answers[0]).toEqual({ ok: false, error: { code: 'unavailable', message: expect.stringContaining('could not connect') as unknown } });
    expect(answers.map((a) => JSON.stringify(a))).toEqual(new Array(4).fill(JSON.stringify(answers[0])));
  });

  it('rate-limits the check per company with 429 in the error shape', async () => {
    const admin = token({ sub: 'adm', company: 'xt-limit', role: 'admin' });
    const other = token({ sub: 'adm', company: 'xt-limit-2', role: 'admin' });
    for (let i = 0; i < 5; i++) expect((await http<Check>(stack.app, 'POST', '/v1/admin/export-target/check', admin)).body.ok).toBe(true);
    const limited = await http<Err>(stack.app, 'POST', '/v1/admin/export-target/check', admin);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, code: 'rate_limited', message: expect.any(String) as unknown });
    // Another company has its own allowance.
    expect((await http<Check>(stack.app, 'POST', '/v1/admin/export-target/check', other)).body.ok).toBe(true);
  });

  it('in production refuses loopback and private hosts unless EXPORT_TARGET_ALLOWED_HOSTS names them', async () => {
    const admin = token({ sub: 'adm', company: 'xt-prod', role: 'admin' });
    for (const host of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '192.168.1.9', 'fd00::5']) {
      const put = await http<Err>(prod, 'PUT', '/v1/admin/export-target', admin, target(host, 22));
      expect([host, put.status, put.body.message]).toEqual([host, 400, expect.stringContaining('EXPORT_TARGET_ALLOWED_HOSTS') as unknown]);
    }
    expect((await http(prod, 'PUT', '/v1/admin/export-target', admin, target('192.168.77.4', 22))).status).toBe(200);
    expect((await http(prod, 'PUT', '/v1/admin/export-target', admin, target('localhost', 22))).status).toBe(200);
  });

  it('applies the policy at connection time too: a stored target with a refused address is never connected to', async () => {
    const company = 'xt-stored';
    const admin = token({ sub: 'adm', company, role: 'admin' });
    // A row written before the policy existed (or behind the API's back).
    const config = JSON.stringify({ ...target('127.0.0.1', spy.port), password: 'pw' });
    await stack.db.query('INSERT INTO export_targets (company_id, type, config, updated_at) VALUES (?, ?, ?, NOW(3))', [company, 'sftp', config]);
    expect((await http(prod, 'GET', '/v1/admin/export-target', admin)).body).toMatchObject({ host: '127.0.0.1' });
    const check = await http<Check>(prod, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body).toEqual({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('loopback') as unknown } });
    // The same row read outside production connects (loopback is allowed there): the spy works.
    expect((await http<Check>(stack.app, 'POST', '/v1/admin/export-target/check', admin)).body.ok).toBe(false);
    expect(spy.connections()).toBe(1);
  });
});
