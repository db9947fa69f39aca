/**
 * The reference agent desk and supervisor view in a real browser (Debian's chromium driven by
 * playwright-core; never a downloaded browser), against the router, the gateway that serves the desk,
 * and the SMS and web chat adapters as processes. Traffic comes from the demo driver
 * (scripts/lib/demo): signed Twilio webhooks and web chat visitors. Two agents sign in to their desks.
 *
 * What the screens must show: async threads spread up to each agent's cap and no further (the rest
 * wait), a live chat offered to one free agent at a time with a countdown, accepted from the desk; a
 * reply typed in the desk reaches the customer's channel (the local Twilio for SMS, the visitor's
 * socket for web chat) and gets its delivery tick; a close in the desk frees capacity that the queue
 * fills at once; the supervisor view shows the waiting work. Screenshots in test-artifacts/desk-*.png.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { devToken, FakeTwilio, freePort, openDatabase, ServiceProcess, waitFor } from '@app/testing';
import {
  agentsOf,
  applyDemoSeed,
  DEMO_QUEUES,
  demoSeed,
  GatewayClient,
  sendSms,
  startWebchatVisitor,
  type SmsEndpoint,
  type WebchatVisitor,
} from '../../../scripts/lib/demo';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts');
const TENANT = `desk-${randomUUID().slice(0, 8)}`;
const ACCOUNT = `AC${randomBytes(16).toString('hex')}`;
const AUTH_TOKEN = randomBytes(16).toString('hex');
const BUSINESS_NUMBER = '+15005550006';
const PUBLIC_BASE = 'https://hooks.example.com/desk-sms';
const ASYNC_CAP = 3;
const SMS_CUSTOMERS = 8;

const seed = demoSeed({
  agentPrefix: `${TENANT}-`,
  humans: ['alice', 'bob'],
  scripted: [],
  humanAsyncCap: ASYNC_CAP,
  messagingChannels: ['sms'],
  offerTimeoutS: 120,
});
const [ALICE, BOB] = agentsOf(seed, 'human');
const [SUPERVISOR] = agentsOf(seed, 'supervisor');

interface Desk {
  agentId: string;
  page: Page;
}

describe('agent desk and supervisor view (browser)', () => {
  const pool = openDatabase();
  let router: ServiceProcess;
  let gateway: ServiceProcess;
  let sms: ServiceProcess;
  let webchat: ServiceProcess;
  let twilio: FakeTwilio;
  let browser: Browser;
  const visitors: WebchatVisitor[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    // Failing (not skipping) keeps a CI without the browser from passing silently.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test`);
    twilio = await FakeTwilio.start(ACCOUNT, AUTH_TOKEN);
    [router, gateway] = await Promise.all([ServiceProcess.start('router'), ServiceProcess.start('gateway')]);
    [sms, webchat] = await Promise.all([
      ServiceProcess.start('adapters/sms', {
        HTTP_PORT: String(await freePort()),
        TENANT_ID: TENANT,
        TWILIO_ACCOUNT_SID: ACCOUNT,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_FROM: BUSINESS_NUMBER,
        TWILIO_API_BASE_URL: twilio.url,
        PUBLIC_BASE_URL: PUBLIC_BASE,
      }),
      ServiceProcess.start('adapters/webchat', {
        HTTP_PORT: String(await freePort()),
        TENANT_ID: TENANT,
        WEBCHAT_TOKEN_SECRET: randomBytes(32).toString('hex'),
      }),
    ]);
    const admin = new GatewayClient(gateway.url(''), await devToken(seed.adminId, TENANT, 'admin'));
    await applyDemoSeed(admin, seed);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
  });

  afterAll(async () => {
    for (const visitor of visitors) visitor.stop();
    await browser?.close();
    await Promise.all([sms?.stop(), webchat?.stop()]);
    await Promise.all([gateway?.stop(), router?.stop()]);
    await twilio?.close();
    await pool.end();
  });

  async function openDesk(agentId: string, role: 'agent' | 'supervisor', path = ''): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${agentId}: ${error.message}`));
    await page.goto(gateway.url(`/desk/${path}#token=${await devToken(agentId, TENANT, role)}`));
    await page.getByTestId('connection').getByText('live', { exact: true }).waitFor({ timeout: 20_000 });
    return page;
  }

  async function signInOnline(agentId: string): Promise<Desk> {
    const page = await openDesk(agentId, 'agent');
    await page.getByLabel('Presence').selectOption('online');
    await waitFor(async () => {
      const { rows } = await pool.query<{ presence: string }>(`SELECT presence FROM agents WHERE id = $1`, [agentId]);
      return rows[0]?.presence === 'online';
    }, `${agentId} online`);
    return { agentId, page };
  }

  /** What the desk shows in one section: the `load/cap` figure and the items listed. */
  async function section(desk: Desk, mode: 'sync' | 'async'): Promise<{ load: string; items: number }> {
    const box = desk.page.getByTestId(`${mode}-work`);
    return { load: (await box.getByTestId('load').innerText()).trim(), items: await box.getByTestId('work-item').count() };
  }

  async function heldInDatabase(agentId: string, mode: 'sync' | 'async'): Promise<number> {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM conversations WHERE assigned_agent_id = $1 AND status = 'assigned' AND mode = $2`,
      [agentId, mode],
    );
    return rows[0]!.n;
  }

  async function waiting(queueId: string): Promise<number> {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM conversations WHERE tenant_id = $1 AND queue_id = $2 AND status = 'queued'`,
      [TENANT, queueId],
    );
    return rows[0]!.n;
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, `desk-${name}.png`), fullPage: true });
  }

  it('two desks: threads up to the cap, live chat to one free agent, replies reach the channel, a close drains the queue', async () => {
    const alice = await signInOnline(ALICE);
    const bob = await signInOnline(BOB);
    const desks = [alice, bob];

    // Eight SMS customers: each desk fills to its cap of three, two threads wait.
    const endpoint: SmsEndpoint = { url: sms.url(''), publicUrl: PUBLIC_BASE, accountSid: ACCOUNT, authToken: AUTH_TOKEN, businessNumber: BUSINESS_NUMBER };
    const customers = Array.from({ length: SMS_CUSTOMERS }, (_, index) => `+1555${String(7_000_000 + index)}`);
    for (const [index, from] of customers.entries()) await sendSms(endpoint, { from, text: `Question ${index + 1} about my order` });
    await waitFor(async () => (await waiting(DEMO_QUEUES.messaging)) === SMS_CUSTOMERS - 2 * ASYNC_CAP, 'two SMS threads waiting');
    for (const desk of desks) {
      await waitFor(async () => (await section(desk, 'async')).items === ASYNC_CAP, `${desk.agentId}'s desk lists ${ASYNC_CAP} threads`);
      expect(await section(desk, 'async')).toEqual({ load: `${ASYNC_CAP}/${ASYNC_CAP}`, items: ASYNC_CAP });
      expect(await heldInDatabase(desk.agentId, 'async')).toBe(ASYNC_CAP);
    }

    // Alice answers one thread from her desk: the text reaches Twilio for that customer, and the tick moves on.
    const thread = alice.page.getByTestId('async-work').getByTestId('work-item').first();
    const threadId = await thread.getAttribute('data-conversation-id');
    expect(threadId).toBeTruthy();
    await thread.click();
    const conversation = alice.page.getByTestId('conversation');
    await conversation.and(alice.page.locator(`[data-conversation-id="${threadId}"]`)).waitFor();
    const { rows: identity } = await pool.query<{ address: string }>(
      `SELECT i.address FROM conversations c JOIN channel_identities i ON i.id = c.identity_id WHERE c.id = $1`,
      [threadId],
    );
    const smsReply = `Hello from the desk ${randomUUID().slice(0, 6)}`;
    await conversation.getByLabel('Reply').fill(smsReply);
    await conversation.getByRole('button', { name: 'Send' }).click();
    await waitFor(() => twilio.calls.some((call) => call.body === smsReply && call.to === identity[0]!.address), 'the reply at Twilio');
    const sent = conversation.locator('[data-testid="message"][data-direction="outbound"]').filter({ hasText: smsReply });
    await waitFor(async () => ['sent', 'delivered', 'read'].includes((await sent.getAttribute('data-delivery')) ?? ''), 'the delivery tick');
    await screenshot(alice.page, 'alice-thread');

    // She closes it: the freed place is filled from the queue at once; her desk stays at the cap.
    await conversation.getByRole('button', { name: 'Close', exact: true }).click();
    await conversation.getByRole('button', { name: 'Confirm close' }).click();
    await waitFor(async () => (await waiting(DEMO_QUEUES.messaging)) === SMS_CUSTOMERS - 2 * ASYNC_CAP - 1, 'one waiting thread drained');
    await waitFor(
      async () => !(await alice.page.locator(`[data-testid="async-work"] [data-conversation-id="${threadId}"]`).count()),
      'the closed thread gone from the desk',
    );
    await waitFor(async () => (await section(alice, 'async')).items === ASYNC_CAP, 'the drained thread on the desk');
    expect(await section(alice, 'async')).toEqual({ load: `${ASYNC_CAP}/${ASYNC_CAP}`, items: ASYNC_CAP });

    // Live chat: each visitor is offered to exactly one free agent, with a countdown, accepted on the desk.
    const accepted: Array<{ desk: Desk; visitor: WebchatVisitor }> = [];
    for (const text of ['Hi, can someone help with my booking?', 'Hello, my payment failed']) {
      const visitor = await startWebchatVisitor({ url: webchat.url(''), timeoutMs: 30_000 });
      visitors.push(visitor);
      await visitor.send(text);
      const free = desks.filter((desk) => !accepted.some((taken) => taken.desk === desk));
      let offered: Desk | undefined;
      await waitFor(async () => {
        const counts = await Promise.all(desks.map((desk) => desk.page.getByTestId('offer').count()));
        offered = desks[counts.findIndex((count) => count > 0)];
        return counts.reduce((sum, count) => sum + count, 0) === 1;
      }, 'one offer on one desk');
      expect(free).toContain(offered);
      const offer = offered!.page.getByTestId('offer');
      expect(await offer.getAttribute('data-mode')).toBe('sync');
      expect(Number((await offer.getByTestId('countdown').innerText()).replace(/\D/g, ''))).toBeGreaterThan(0);
      await screenshot(offered!.page, `${offered === alice ? 'alice' : 'bob'}-offer`);
      await offer.getByRole('button', { name: 'Accept' }).click();
      await waitFor(async () => (await section(offered!, 'sync')).items === 1, 'the chat in the sync section');
      expect(await section(offered!, 'sync')).toEqual({ load: '1/1', items: 1 });
      await visitor.waitForAgent(20_000);
      accepted.push({ desk: offered!, visitor });
    }

    // A third visitor finds nobody free for live work: no offer anywhere, a queue notice instead.
    const third = await startWebchatVisitor({ url: webchat.url(''), timeoutMs: 30_000 });
    visitors.push(third);
    await third.send('Is anyone there?');
    await third.waitForNotice(undefined, 20_000);
    expect(await waiting(DEMO_QUEUES.live)).toBe(1);
    for (const desk of desks) {
      expect(await desk.page.getByTestId('offer').count()).toBe(0);
      const live = await section(desk, 'sync');
      expect(live).toEqual({ load: '1/1', items: 1 });
      expect(await heldInDatabase(desk.agentId, 'sync')).toBe(1);
      const threads = await section(desk, 'async');
      expect(threads.items).toBeLessThanOrEqual(ASYNC_CAP);
      expect(threads.load).toBe(`${threads.items}/${ASYNC_CAP}`);
    }

    // A reply typed in the chat reaches the visitor's socket.
    const { desk: chatDesk, visitor } = accepted[0]!;
    await chatDesk.page.getByTestId('sync-work').getByTestId('work-item').click();
    const chat = chatDesk.page.getByTestId('conversation');
    await chat.getByTestId('message').filter({ hasText: 'Hi, can someone help with my booking?' }).waitFor();
    const chatReply = `Sure, let me check ${randomUUID().slice(0, 6)}`;
    await chat.getByLabel('Reply').fill(chatReply);
    await chat.getByRole('button', { name: 'Send' }).click();
    await visitor.waitForReply((message) => message.text === chatReply, 20_000);
    await screenshot(chatDesk.page, `${chatDesk === alice ? 'alice' : 'bob'}-chat`);

    // The supervisor sees the waiting work and both agents, live.
    const supervisor = await openDesk(SUPERVISOR, 'supervisor', '#/supervisor');
    const messagingRow = supervisor.getByTestId('queue-row').and(supervisor.locator(`[data-queue-id="${DEMO_QUEUES.messaging}"]`));
    const liveRow = supervisor.getByTestId('queue-row').and(supervisor.locator(`[data-queue-id="${DEMO_QUEUES.live}"]`));
    await messagingRow.waitFor({ timeout: 20_000 });
    await liveRow.waitFor();
    for (const agentId of [ALICE, BOB]) await supervisor.locator(`[data-testid="agent-row"][data-agent-id="${agentId}"]`).waitFor();
    await screenshot(supervisor, 'supervisor');

    expect(problems).toEqual([]);
  }, 240_000);
});
