import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { cleanupDir, http, token, waitFor } from './support/app';
import { filesUnder } from './support/files';
import { appStack } from './support/stack';

// The demo in a real browser: Debian's chromium (never downloaded), driven by playwright-core.
// The customer's widget and the agent's portal chat over socket.io's default transports (long
// polling, then the upgrade to WebSocket), the agent pauses, resumes and ends the chat, and the
// panel shows the delivered file.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

describe('demo pages in headless Chromium', () => {
  const stack = appStack({ prefix: 'browser' });
  let browser: BrowserContext;
  let profile: string;
  const company = 'webco';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium" (Debian's package; the test never downloads a browser)`);
    }
    profile = mkdtempSync(join(tmpdir(), 'wcr-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    if (profile) cleanupDir(profile);
  });

  const messageTexts = (page: Page) => page.locator('#messages li .text').allTextContents();

  async function waitForText(page: Page, text: string): Promise<void> {
    await page.locator('#messages li .text', { hasText: text }).first().waitFor({ timeout: 15_000 });
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#text', text);
    await page.click('#send');
    // Acknowledged: the line has its seq.
    await page.locator('#messages li:not(.pending) .text', { hasText: text }).first().waitFor({ timeout: 15_000 });
  }

  it('customer and agent chat, the agent pauses, resumes and ends, and the delivered file holds the chat without the paused message', async () => {
    const errors: string[] = [];
    const transports = new Set<string>();
    const transport = (url: string) => /\/socket\.io\/\?.*transport=(polling|websocket)/.exec(url)?.[1];
    browser.on('page', (p) => {
      p.on('pageerror', (e) => errors.push(e.message));
      p.on('websocket', (ws) => transports.add(transport(ws.url()) ?? 'other websocket'));
    });
    browser.on('request', (r) => {
      const t = transport(r.url());
      if (t) transports.add(t);
    });

    const portal = await browser.newPage();
    await portal.goto(`${stack.app.url}/demo/portal.html?company=${company}&agent=agent-1&name=Ann`);
    await portal.locator('#status', { hasText: 'connected' }).waitFor();

    const panel = await browser.newPage();
    await panel.goto(`${stack.app.url}/demo/`);
    await panel.fill('#company', company);
    await panel.fill('#customerName', 'Alice');
    await panel.click('#createChat');
    const link = panel.locator('#chats li a.widgetLink').first();
    await link.waitFor();
    const chatId = (await panel.locator('#chats li').first().getAttribute('data-chat')) as string;
    expect(chatId).toMatch(/\S+/);

    const widget = await browser.newPage();
    await widget.goto(new URL((await link.getAttribute('href')) as string, `${stack.app.url}/demo/`).toString());
    await widget.locator('#status', { hasText: 'connected' }).waitFor();

    await portal.locator(`#assigned button.join[data-chat="${chatId}"]`).click();
    await portal.locator('#chat').waitFor();
    await portal.locator('#recState', { hasText: 'recording' }).waitFor();

    await say(widget, 'Hello, I need help with my order');
    await waitForText(portal, 'Hello, I need help with my order');
    await say(portal, 'Happy to help, which order?');
    await waitForText(widget, 'Happy to help, which order?');

    await portal.click('#pause');
    await widget.locator('#recState', { hasText: 'paused' }).waitFor();
    await say(widget, 'my date of birth is 1 April 1990');
    await waitForText(portal, 'my date of birth is 1 April 1990'); // relayed, never stored
    await portal.click('#resume');
    await widget.locator('#recState', { hasText: 'recording' }).waitFor();
    await say(widget, 'Order 4711, thanks');
    await waitForText(portal, 'Order 4711, thanks');

    // socket.io's default: long polling first, then the upgrade to WebSocket.
    await widget.waitForFunction(
      () =>
        (globalThis as unknown as { demoClient: { socket: { io: { engine: { transport: { name: string } } } } } }).demoClient.socket.io.engine.transport
          .name === 'websocket',
    );
    expect([...transports].sort()).toEqual(['polling', 'websocket']);

    await portal.click('#end');
    await widget.locator('#ended', { hasText: 'ended' }).waitFor();
    await portal.locator('#ended', { hasText: 'ended' }).waitFor();
    expect(await messageTexts(portal)).toEqual([
      'Hello, I need help with my order',
      'Happy to help, which order?',
      'my date of birth is 1 April 1990',
      'Order 4711, thanks',
    ]);

    // The panel lists the delivered file and shows it.
    const file = panel.locator('#files a.file', { hasText: chatId }).first();
    for (let i = 0; i < 60 && (await file.count()) === 0; i++) {
      await panel.click('#refreshFiles');
      await panel.waitForTimeout(500);
    }
    // A refresh that finds the same files leaves the list as it is: the link is not replaced
    // under a click.
    const fileLink = await file.elementHandle();
    await Promise.all([panel.waitForResponse((r) => r.url().includes('/demo/api/files')), panel.click('#refreshFiles')]);
    await panel.waitForTimeout(300);
    expect(await fileLink?.evaluate((e) => e.isConnected)).toBe(true);
    await file.click();
    await panel.locator('#fileContent', { hasText: 'Order 4711, thanks' }).waitFor();
    const shown = (await panel.locator('#fileContent').textContent()) as string;
    expect(shown).toContain('Hello, I need help with my order');
    expect(shown).toContain('Happy to help, which order?');
    expect(shown).toContain('Order 4711, thanks');
    expect(shown).not.toContain('1 April 1990');

    // ... and it is the file in the company's export folder.
    const delivered = filesUnder(join(stack.app.workDir, 'data', 'outbox', company)).filter((f) => f.includes(chatId));
    expect(delivered).toHaveLength(1);
    expect(readFileSync(delivered[0], 'utf8')).toBe(shown);
    expect(errors).toEqual([]);
  });

  it('the portal confirms a deletion request, flags abuse and transfers the chat to another agent, who joins with the history', async () => {
    const portal = await browser.newPage();
    await portal.goto(`${stack.app.url}/demo/portal.html?company=${company}&agent=agent-7&name=Ann`);
    await portal.locator('#status', { hasText: 'connected' }).waitFor();
    const other = await browser.newPage();
    await other.goto(`${stack.app.url}/demo/portal.html?company=${company}&agent=agent-8&name=Bob`);
    await other.locator('#status', { hasText: 'connected' }).waitFor();

    const panel = await browser.newPage();
    await panel.goto(`${stack.app.url}/demo/`);
    await panel.fill('#company', company);
    await panel.fill('#agent', 'agent-7');
    await panel.click('#createChat');
    const link = panel.locator('#chats li a.widgetLink').first();
    await link.waitFor();
    const chatId = (await panel.locator('#chats li').first().getAttribute('data-chat')) as string;
    const widget = await browser.newPage();
    await widget.goto(new URL((await link.getAttribute('href')) as string, `${stack.app.url}/demo/`).toString());
    await widget.locator('#status', { hasText: 'connected' }).waitFor();

    await portal.locator(`#assigned button.join[data-chat="${chatId}"]`).click();
    await say(widget, 'please do not keep this');
    await widget.click('#requestDeletion');
    await portal.locator('#deleteRequested').waitFor();
    await portal.click('#deleteRecording');
    await portal.fill('#flagReason', 'threats');
    await portal.click('#flag');
    await portal.fill('#transferTo', 'agent-8');
    await portal.click('#transfer');

    await other.locator(`#assigned button.join[data-chat="${chatId}"]`).click();
    await waitForText(other, 'please do not keep this');
    await say(other, 'Bob here, taking over');
    await waitForText(widget, 'Bob here, taking over');
    expect(await portal.locator('#error').textContent()).toBe('');
    expect(await other.locator('#error').textContent()).toBe('');

    const admin = token({ sub: 'adm', company, role: 'admin' });
    const view = await waitFor('the flags', async () => {
      const r = await http<{ flags: { abusive: boolean; deletionRequested: boolean; deletionConfirmed: boolean } }>(
        stack.app,
        'GET',
        `/v1/admin/chats/${chatId}`,
        admin,
      );
      return r.body.flags.abusive && r.body.flags.deletionConfirmed ? r.body : null;
    });
    expect(view.flags).toMatchObject({ abusive: true, deletionRequested: true, deletionConfirmed: true });
  });
});
