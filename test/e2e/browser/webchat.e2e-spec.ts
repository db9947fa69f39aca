/**
 * The web chat widget in a real browser (Debian's chromium driven by playwright-core; never a
 * downloaded browser): the demo page served by the adapter, a visitor types and sends, an agent
 * accepts and replies through the gateway's REST API, the reply appears in the page; the visitor
 * leaves, the agent answers again, and back on the page that answer is resumed from the server.
 * Leaves a screenshot in test-artifacts/webchat.png.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { AgentSocket, api, devToken, freePort, openDatabase, seedAgents, ServiceProcess, waitFor } from '@app/testing';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts');
const TENANT = `wcb-${randomUUID().slice(0, 8)}`;
const AGENT = `${TENANT}-a1`;

describe('web chat widget (browser)', () => {
  const pool = openDatabase();
  let router: ServiceProcess;
  let gateway: ServiceProcess;
  let adapter: ServiceProcess;
  let agent: AgentSocket;
  let browser: Browser;

  beforeAll(async () => {
    // Failing (not skipping) keeps a CI without the browser from passing silently.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test`);
    await seedAgents(pool, [{ id: AGENT, tenantId: TENANT, syncCap: 1 }]);
    [router, gateway] = await Promise.all([ServiceProcess.start('router', { PRESENCE_LEASE_S: '3600' }), ServiceProcess.start('gateway')]);
    adapter = await ServiceProcess.start('adapters/webchat', {
      HTTP_PORT: String(await freePort()),
      TENANT_ID: TENANT,
      WEBCHAT_TOKEN_SECRET: randomBytes(32).toString('hex'),
    });
    agent = await AgentSocket.connect(gateway.url(''), await devToken(AGENT, TENANT));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
  });

  afterAll(async () => {
    await browser?.close();
    agent?.close();
    await adapter?.stop();
    await Promise.all([gateway?.stop(), router?.stop()]);
    await pool.end();
  });

  it('a visitor writes from the demo page, an agent answers over REST, the answer shows in the page, and one sent while away is there on return', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    let page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(adapter.url('/webchat/demo'));

    await page.getByRole('button', { name: 'Open chat' }).click();
    const input = page.getByLabel('Type your message');
    await input.fill('Hello, I need help with my order');
    await input.press('Enter');
    const log = page.getByRole('log');
    await log.getByText('Hello, I need help with my order').waitFor();

    const offer = await agent.waitForEvent((event) => event.type === 'agent.offer', 'the chat offered to the agent');
    const token = await devToken(AGENT, TENANT);
    const base = gateway.url('');
    expect(await api(base, token, 'POST', `/v1/offers/${offer.conversationId}/accept`)).toMatchObject({ status: 200 });
    await log.getByText('joined the chat').waitFor({ timeout: 15_000 });
    const reply = await api(base, token, 'POST', `/v1/conversations/${offer.conversationId}/replies`, {
      clientMessageId: randomUUID(),
      text: 'Hi! Let me look that up for you.',
    });
    expect(reply.status).toBe(202);
    await log.getByText('Hi! Let me look that up for you.').waitFor({ timeout: 15_000 });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'webchat.png') });

    // The visitor leaves; the agent answers meanwhile; back on the page (same browser storage) the
    // conversation is there and the missed answer is fetched from the server from the last sequence number.
    await page.close();
    const meanwhile = await api(base, token, 'POST', `/v1/conversations/${offer.conversationId}/replies`, {
      clientMessageId: randomUUID(),
      text: 'Found it: your parcel ships today.',
    });
    expect(meanwhile.status).toBe(202);
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1`, [offer.conversationId]);
      return rows[0]!.n === 3;
    }, 'three messages stored');
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(adapter.url('/webchat/demo'));
    const again = page.getByRole('log');
    await again.getByText('Found it: your parcel ships today.').waitFor({ timeout: 15_000 });
    expect(await again.getByRole('listitem').allTextContents()).toEqual([
      'You: Hello, I need help with my order',
      'Agent: Hi! Let me look that up for you.',
      'Agent: Found it: your parcel ships today.',
    ]);
    expect(problems).toEqual([]);
  });
});
