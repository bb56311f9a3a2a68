import { AppHandle, cleanupDir, http, startApp } from './support/app';

// Where the demo is served: on by default outside production, DEMO_PAGES=false turns it off, and
// with NODE_ENV=production its token and file routes do not exist even with DEMO_PAGES=true.
describe('demo routes', () => {
  const apps: AppHandle[] = [];
  afterAll(async () => {
    for (const a of apps) {
      await a.stop();
      cleanupDir(a.workDir);
    }
  });
  const start = async (env: Record<string, string>) => {
    const a = await startApp({ env });
    apps.push(a);
    return a;
  };
  const status = async (a: AppHandle, path: string) => (await fetch(`${a.url}${path}`)).status;

  it('outside production: pages, the library, socket.io-client, tokens; bad input named; no path out of the company folder', async () => {
    const a = await start({});
    for (const p of ['/demo/', '/demo/widget.html', '/demo/portal.html', '/demo/lib/index.js', '/demo/vendor/socket.io-client.js']) {
      expect({ p, status: await status(a, p) }).toEqual({ p, status: 200 });
    }
    expect((await fetch(`${a.url}/demo/lib/index.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect(await status(a, '/demo/secret.txt')).toBe(404);
    expect(await status(a, '/demo/..%2Fpackage.json')).toBe(404);
    const minted = await http<{ token: string }>(a, 'POST', '/demo/api/tokens', null, { role: 'flow', company: 'democo', sub: 'f1' });
    expect(minted.status).toBe(200);
    const created = await http(a, 'POST', '/v1/flow/chats', minted.body.token, { service: 'sales' });
    expect(created.status).toBe(201);
    const bad = await http<{ code: string; message: string }>(a, 'POST', '/demo/api/tokens', null, { role: 'customer', company: 'democo', sub: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/role/);
    const files = await http<{ files: unknown[] }>(a, 'GET', '/demo/api/files?company=democo', null);
    expect(files).toEqual({ status: 200, body: { files: [] } });
    const escape = await http<{ message: string }>(a, 'GET', `/demo/api/file?company=democo&name=${encodeURIComponent('../../package.json')}`, null);
    expect(escape.status).toBe(400);
    expect(escape.body.message).toMatch(/name/);
    expect((await http(a, 'GET', '/demo/api/files?company=../etc', null)).status).toBe(400);
  });

  it('DEMO_PAGES=false: no demo at all', async () => {
    const a = await start({ DEMO_PAGES: 'false' });
    expect(await status(a, '/demo/')).toBe(404);
    expect((await http(a, 'POST', '/demo/api/tokens', null, { role: 'flow', company: 'c', sub: 's' })).status).toBe(404);
  });

  it('NODE_ENV=production: off by default; with DEMO_PAGES=true the pages only, never the token or file routes', async () => {
    const off = await start({ NODE_ENV: 'production' });
    expect(await status(off, '/demo/')).toBe(404);
    const on = await start({ NODE_ENV: 'production', DEMO_PAGES: 'true' });
    expect(await status(on, '/demo/')).toBe(200);
    expect((await http(on, 'POST', '/demo/api/tokens', null, { role: 'flow', company: 'c', sub: 's' })).status).toBe(404);
    expect(await status(on, '/demo/api/files?company=c')).toBe(404);
  });
});
