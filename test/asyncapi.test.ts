import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAsyncApiDocument } from '../src/socket/asyncapi';
import { AppHandle, cleanupDir, ROOT, startApp } from './support/app';

interface Doc {
  operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[]; reply?: unknown }>;
  components: { messages: Record<string, { name: string; payload: unknown }> };
}

const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

// Events the source handles and emits, read from the source itself (not from the lists the
// generator uses), so that a handler or an emit added without the document fails here.
function handledEvents(gatewayFile: string): string[] {
  const src = read(gatewayFile);
  const map = src.slice(src.indexOf('this.events = {'));
  const keys = [...map.matchAll(/^\s{6}('([^']+)'|([A-Za-z]+)): on\(/gm)].map((m) => m[2] ?? m[3]);
  const decorated = [...src.matchAll(/@SubscribeMessage\(\s*'([^']+)'/g)].map((m) => m[1]);
  return [...keys, ...decorated];
}

function emittedEvents(): string[] {
  const dir = join(ROOT, 'src', 'socket');
  const out = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.spec.ts'))) {
    const src = read(join('src', 'socket', f));
    for (const m of src.matchAll(/emitTo\([^,]+,\s*'([^']+)'/g)) out.add(m[1]);
    for (const m of src.matchAll(/toChat\([^,]+,\s*'([^']+)'/g)) out.add(m[1]);
    for (const m of src.matchAll(/\.emit\(\s*'([^']+)'/g)) out.add(m[1]);
  }
  return [...out];
}

describe('AsyncAPI document of the socket.io events', () => {
  let app: AppHandle;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
    if (app) cleanupDir(app.workDir);
  });

  it('docs/asyncapi.json is what the generator builds (npm run asyncapi) and what the service serves', async () => {
    const kept = JSON.parse(read('docs/asyncapi.json')) as unknown;
    expect(kept).toEqual(buildAsyncApiDocument()); // if this fails: npm run asyncapi
    const served = await fetch(`${app.url}/docs/asyncapi.json`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(kept);
  });

  it('names every event a gateway handles, with a payload and an acknowledgement', () => {
    const doc = JSON.parse(read('docs/asyncapi.json')) as Doc;
    const gateways = { customer: 'src/socket/customer.gateway.ts', agent: 'src/socket/agent.gateway.ts' };
    for (const [ns, file] of Object.entries(gateways)) {
      const handled = handledEvents(file);
      expect(handled.length).toBeGreaterThanOrEqual(4);
      for (const event of handled) {
        const op = doc.operations[`${ns}.${event}`];
        expect({ ns, event, found: op?.action }).toEqual({ ns, event, found: 'receive' });
        expect(op.reply).toBeDefined();
        expect(doc.components.messages[`${ns}.${event}`]).toMatchObject({ name: event, payload: expect.any(Object) });
      }
      // ... and nothing the gateway does not handle.
      const documented = Object.entries(doc.operations)
        .filter(([, op]) => op.action === 'receive' && op.channel.$ref === `#/channels/${ns}`)
        .map(([id]) => id.slice(ns.length + 1));
      expect(documented.sort()).toEqual([...handled].sort());
    }
  });

  it('names every event the service emits', () => {
    const doc = JSON.parse(read('docs/asyncapi.json')) as Doc;
    const emitted = emittedEvents();
    expect(emitted).toEqual(expect.arrayContaining(['message', 'chat.ended', 'chat.assigned', 'auth.expired']));
    const sent = new Set(
      Object.values(doc.operations)
        .filter((op) => op.action === 'send')
        .flatMap((op) => op.messages.map((m) => m.$ref.split('/messages/server.')[1])),
    );
    for (const event of emitted) expect({ event, documented: sent.has(event) }).toEqual({ event, documented: true });
  });
});
