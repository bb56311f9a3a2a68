import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, ROOT, token } from './support/app';
import { appStack } from './support/stack';

type Err = { statusCode: number; code: string; message: string };

describe('admin REST', () => {
  const stack = appStack({ prefix: 'admin' });
  const company = 'adminco';
  const admin = token({ sub: 'root-admin', company, role: 'admin' });

  it('settings: defaults, validation naming the field, update, audit', async () => {
    expect((await http(stack.app, 'GET', '/v1/admin/settings', admin)).body).toEqual({
      recordingEnabled: true,
      timeZone: 'UTC',
      idleTimeoutSeconds: 1800,
      retentionDays: 30,
      redactCardData: true,
    });
    const badZone = await http<Err>(stack.app, 'PUT', '/v1/admin/settings', admin, { timeZone: 'Mars/Olympus' });
    expect(badZone.status).toBe(400);
    expect(badZone.body.message).toContain('timeZone');
    const badIdle = await http<Err>(stack.app, 'PUT', '/v1/admin/settings', admin, { idleTimeoutSeconds: 'soon' });
    expect(badIdle.status).toBe(400);
    expect(badIdle.body.message).toContain('idleTimeoutSeconds');
    const ok = await http(stack.app, 'PUT', '/v1/admin/settings', admin, { timeZone: 'Asia/Tokyo', retentionDays: 7 });
    expect(ok.body).toMatchObject({ timeZone: 'Asia/Tokyo', retentionDays: 7, recordingEnabled: true });
    const audit = await http<{ action: string; actor: { id: string }; detail: unknown }[]>(stack.app, 'GET', '/v1/admin/audit', admin);
    expect(audit.body.find((a) => a.action === 'settings.updated')).toMatchObject({
      actor: { id: 'root-admin' },
      detail: { timeZone: 'Asia/Tokyo', retentionDays: 7 },
    });
  });

  it('agents: defaults for an unseen agent, validation, update, list', async () => {
    expect((await http(stack.app, 'GET', '/v1/admin/agents/ghost', admin)).body).toEqual({
      agentId: 'ghost',
      name: null,
      login: null,
      permitRecordings: true,
      samplingPercent: 100,
    });
    const bad = await http<Err>(stack.app, 'PUT', '/v1/admin/agents/a1', admin, { samplingPercent: 101 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('samplingPercent');
    const bad2 = await http<Err>(stack.app, 'PUT', '/v1/admin/agents/a1', admin, { permitRecordings: 'no' });
    expect(bad2.body.message).toContain('permitRecordings');
    expect(
      (await http(stack.app, 'PUT', '/v1/admin/agents/a1', admin, { name: 'Ann', login: 'ann', permitRecordings: false, samplingPercent: 25 })).body,
    ).toEqual({
      agentId: 'a1',
      name: 'Ann',
      login: 'ann',
      permitRecordings: false,
      samplingPercent: 25,
    });
    expect((await http(stack.app, 'GET', '/v1/admin/agents', admin)).body).toEqual([
      { agentId: 'a1', name: 'Ann', login: 'ann', permitRecordings: false, samplingPercent: 25 },
    ]);
  });

  it('profiles: the built-in agent profile, validation with the reason, preview in the company time zone', async () => {
    const list = await http<{ name: string; filenameTemplate: string }[]>(stack.app, 'GET', '/v1/admin/profiles', admin);
    expect(list.body).toEqual([
      {
        name: 'agent',
        filenameTemplate: '{{date startedAt "YYYYMMDD"}}/{{service}}_{{agentLogin}}_{{chatId}}',
        format: 'text',
        sidecar: false,
        metadataSidecar: false,
        manifest: false,
        builtin: true,
      },
    ]);

    const refusals: [string, RegExp][] = [
      ['', /filenameTemplate/],
      ['/abs/{{chatId}}', /absolute/],
      ['{{chatId}}/../x', /"\.\."/],
      ['a\\b{{chatId}}', /backslash/],
      [`${'x'.repeat(256)}{{chatId}}`, /bytes/],
      ['{{constructor.constructor "return process"}}', /./],
      ['{{lookup this "__proto__"}}', /./],
      ['a\uFF0F..\uFF0Fb', /"\.\."/],
      ['{{nosuchvalue}}', /nosuchvalue/],
    ];
    for (const [filenameTemplate, reason] of refusals) {
      const r = await http<Err>(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'bad', filenameTemplate, format: 'text' });
      expect([r.status, filenameTemplate]).toEqual([400, filenameTemplate]);
      expect(r.body.code).toBe('bad_request');
      expect(r.body.message).toMatch(reason);
    }
    const badFormat = await http<Err>(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'bad', filenameTemplate: '{{chatId}}', format: 'pdf' });
    expect(badFormat.body.message).toContain('format');

    const created = await http(stack.app, 'POST', '/v1/admin/profiles', admin, {
      name: 'qa',
      filenameTemplate: '{{date startedAt "YYYY-MM-DD HH"}}/{{lower service}}-{{pad recordingId 3}}',
      format: 'json',
      sidecar: true,
    });
    expect(created.status).toBe(201);
    expect((await http(stack.app, 'POST', '/v1/admin/profiles', admin, { name: 'qa', filenameTemplate: '{{chatId}}', format: 'text' })).status).toBe(409);
    expect((await http(stack.app, 'GET', '/v1/admin/profiles/qa', admin)).body).toMatchObject({ name: 'qa', format: 'json', sidecar: true, builtin: false });

    const preview = await http<{ example: string }>(stack.app, 'POST', '/v1/admin/profiles/preview', admin, {
      filenameTemplate: '{{date startedAt "YYYYMMDD-HH"}}/{{upper service}}',
      format: 'html',
    });
    expect(preview.status).toBe(200);
    expect(preview.body.example).toMatch(/^\d{8}-\d{2}\/[A-Z_]+\.html$/);

    // the built-in profile can be edited but not deleted
    expect((await http(stack.app, 'PUT', '/v1/admin/profiles/agent', admin, { filenameTemplate: '{{agentLogin}}/{{chatId}}', format: 'text' })).status).toBe(
      200,
    );
    expect((await http(stack.app, 'DELETE', '/v1/admin/profiles/agent', admin)).status).toBe(409);
    expect((await http(stack.app, 'DELETE', '/v1/admin/profiles/qa', admin)).status).toBe(204);
    expect((await http(stack.app, 'GET', '/v1/admin/profiles/qa', admin)).status).toBe(404);
  });

  it('export target: local by default; SFTP secrets are write-only and never logged', async () => {
    expect((await http(stack.app, 'GET', '/v1/admin/export-target', admin)).body).toEqual({ type: 'local' });
    const missing = await http<Err>(stack.app, 'PUT', '/v1/admin/export-target', admin, {
      type: 'sftp',
      host: 'h',
      port: 22,
      username: 'u',
      password: 'p',
      remoteDir: '/in',
    });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('hostKeySha256');
    const noSecret = await http<Err>(stack.app, 'PUT', '/v1/admin/export-target', admin, {
      type: 'sftp',
      host: 'h',
      port: 22,
      username: 'u',
      remoteDir: '/in',
      hostKeySha256: 'SHA256:' + 'B'.repeat(43),
    });
    expect(noSecret.body.message).toMatch(/password or privateKey/);
    // A key the connection could not use is refused when saved, naming the cause (it was accepted,
    // and only a delivery's log said why the target failed).
    const keyTarget = (privateKey: string) => ({
      type: 'sftp',
      host: '127.0.0.1',
      port: 22,
      username: 'u',
      privateKey,
      remoteDir: '/in',
      hostKeySha256: 'SHA256:' + 'B'.repeat(43),
    });
    const ed25519Pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rsaPublic = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    for (const [privateKey, cause] of [
      ['this is not a key', /Unsupported key format/],
      [ed25519Pkcs8, /Unsupported key format/],
      [rsaPublic, /public key|Unsupported key format/],
      [encrypted, /passphrase/],
    ] as const) {
      const bad = await http<Err>(stack.app, 'PUT', '/v1/admin/export-target', admin, keyTarget(privateKey));
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^privateKey: /);
      expect(bad.body.message).toMatch(cause);
    }
    const usable = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const withKey = await http<{ hasPrivateKey: boolean }>(stack.app, 'PUT', '/v1/admin/export-target', admin, keyTarget(usable));
    expect(withKey.status).toBe(200);
    expect(withKey.body.hasPrivateKey).toBe(true);
    const secret = 'Sup3r-Secret-Password-Value';
    const put = await http(stack.app, 'PUT', '/v1/admin/export-target', admin, {
      type: 'sftp',
      host: '127.0.0.1',
      port: 1,
      username: 'u',
      password: secret,
      remoteDir: '/in',
      hostKeySha256: 'SHA256:' + 'B'.repeat(43),
    });
    expect(put.status).toBe(200);
    const got = await http(stack.app, 'GET', '/v1/admin/export-target', admin);
    expect(got.body).toEqual({
      type: 'sftp',
      host: '127.0.0.1',
      port: 1,
      username: 'u',
      remoteDir: '/in',
      hostKeySha256: 'SHA256:' + 'B'.repeat(43),
      hasPassword: true,
      hasPrivateKey: false,
    });
    expect(JSON.stringify(got.body)).not.toContain(secret);
    const check = await http<{ ok: boolean }>(stack.app, 'POST', '/v1/admin/export-target/check', admin);
    expect(check.body.ok).toBe(false);
    // The stored secret belongs to that host, port and user: it is not carried over to others.
    const base = { type: 'sftp', host: '127.0.0.1', port: 1, username: 'u', remoteDir: '/in', hostKeySha256: 'SHA256:' + 'B'.repeat(43) };
    for (const [field, value] of [
      ['host', '127.0.0.2'],
      ['port', 2],
      ['username', 'other'],
    ] as const) {
      const moved = await http<Err>(stack.app, 'PUT', '/v1/admin/export-target', admin, { ...base, [field]: value });
      expect([field, moved.status, moved.body.code]).toEqual([field, 400, 'bad_request']);
      expect(moved.body.message).toContain(field);
      expect(moved.body.message).toMatch(/password or privateKey/);
    }
    expect((await http(stack.app, 'GET', '/v1/admin/export-target', admin)).body).toMatchObject({ host: '127.0.0.1', port: 1, username: 'u' });
    const same = await http(stack.app, 'PUT', '/v1/admin/export-target', admin, { ...base, remoteDir: '/elsewhere' });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ remoteDir: '/elsewhere', hasPassword: true });
    const audit = await http(stack.app, 'GET', '/v1/admin/audit', admin);
    expect(JSON.stringify(audit.body)).not.toContain(secret);
    expect(stack.app.logs()).not.toContain(secret);
  });

  it('recordings and chats: validation and scoping', async () => {
    expect((await http<Err>(stack.app, 'GET', '/v1/admin/recordings?status=lost', admin)).body.message).toContain('status');
    expect((await http(stack.app, 'GET', '/v1/admin/recordings', admin)).body).toEqual([]);
    expect((await http(stack.app, 'GET', '/v1/admin/recordings/nope', admin)).status).toBe(404);
    expect((await http(stack.app, 'POST', '/v1/admin/recordings/nope/retry', admin)).status).toBe(404);
    expect((await http(stack.app, 'GET', '/v1/admin/chats/nope', admin)).status).toBe(404);
    expect((await http<Err>(stack.app, 'GET', '/v1/admin/audit?from=yesterday', admin)).body.message).toContain('from');
  });

  it('serves the OpenAPI document, which matches the one kept in the repo', async () => {
    const served = await fetch(`${stack.app.url}/docs/openapi.json`);
    expect(served.status).toBe(200);
    const kept = JSON.parse(readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8')) as unknown;
    expect(await served.json()).toEqual(kept); // if this fails: npm run openapi
    expect((await fetch(`${stack.app.url}/docs`)).status).toBe(200);
  });
});
