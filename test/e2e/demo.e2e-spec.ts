/**
 * The demo (`npm run demo`, scripts/lib/demo) end to end: the router, the gateway and the web chat,
 * SMS, WhatsApp and Telegram adapters as processes, their providers local fakes, and `startDemo` on
 * a compressed timeline — one cycle, ten messaging customers 200 ms apart, a burst of five web chats,
 * quick scripted agents, small caps, offers to the unattended human desks lapsing after 3 s.
 *
 * What the narration claims must show in the database and at the providers: live chats held by one
 * agent at a time and nobody past a cap (the assignment audit replayed); threads piled up to every
 * agent's cap and then waited; waiting visitors told their place in line; the scripted agents'
 * replies at the visitors and at Twilio, Meta and Telegram; the returning customer back with the
 * agent who closed their thread; and `stop()` counting what the audit recorded, leaving the demo
 * queues parked and nothing on offer. The narration goes to test-artifacts/demo-narration.log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeMeta, FakeTelegram, FakeTwilio, openDatabase, replayAudit, ServiceProcess, waitFor } from '@app/testing';
import {
  agentsOf,
  DEMO_QUEUES,
  devTokenSettings,
  startDemo,
  summarize,
  type AgentBehaviour,
  type ChannelEndpoints,
  type DemoEventOf,
  type DemoResult,
  type RunningDemo,
} from '../../scripts/lib/demo';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const TENANT = `demo-${randomUUID().slice(0, 8)}`;
const TWILIO = { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex'), businessNumber: '+15005550006' };
const SMS_PUBLIC_BASE = 'https://hooks.example.com/demo-sms';
const META = { appSecret: randomBytes(16).toString('hex'), accessToken: `EAAG${randomBytes(24).toString('hex')}`, phoneNumberId: '106540352242922' };
const TELEGRAM = { botToken: `${1_000_000 + Math.floor(Math.random() * 1e6)}:${randomBytes(24).toString('base64url')}`, secret: randomBytes(24).toString('hex') };

const HUMAN_ASYNC_CAP = 2;
const SCRIPTED_ASYNC_CAP = 1;
const MESSAGING_CUSTOMERS = 10;
const BURST_VISITORS = 5;
/** Quick scripted agents; a chat closes well after the visitor's follow-up (2.5 s after the greeting). */
const BEHAVIOUR: Partial<AgentBehaviour> = {
  acceptAfterMs: [200, 500],
  greetAfterMs: [200, 500],
  answerAfterMs: [300, 600],
  closeSyncAfterMs: [6_000, 7_000],
  closeAsyncAfterMs: [3_000, 4_000],
};

interface AuditRow {
  id: string;
  conversation_id: string;
  agent_id: string | null;
  mode: 'sync' | 'async';
  action: string;
}

/** Capacity an audit action takes (+1) or frees (-1) on its agent: the replay helper's table. */
const TAKES = new Set(['offer', 'assign']);
const FREES = new Set(['decline', 'offer-timeout', 'offer-withdrawn', 'requeue', 'release', 'transfer', 'reassign', 'abandon', 'close', 'escalate']);

/** Every moment some live chat had two holders (offered or assigned to two agents at once). */
function sharedLiveChats(rows: AuditRow[]): string[] {
  const holder = new Map<string, string>();
  const problems: string[] = [];
  for (const row of rows.filter((r) => r.mode === 'sync' && r.agent_id)) {
    const current = holder.get(row.conversation_id);
    if (TAKES.has(row.action)) {
      if (current) problems.push(`audit ${row.id}: ${row.action} to ${row.agent_id} while ${current} held ${row.conversation_id}`);
      holder.set(row.conversation_id, row.agent_id!);
    } else if (FREES.has(row.action) || row.action === 'accept') {
      if (current !== row.agent_id) problems.push(`audit ${row.id}: ${row.action} by ${row.agent_id} while ${current ?? 'nobody'} held ${row.conversation_id}`);
      if (FREES.has(row.action)) holder.delete(row.conversation_id);
    }
  }
  return problems;
}

/** Multiset difference: the items of `wanted` not matched one for one in `got`. */
function missing(wanted: string[], got: string[]): string[] {
  const left = new Map<string, number>();
  for (const item of got) left.set(item, (left.get(item) ?? 0) + 1);
  return wanted.filter((item) => {
    const n = left.get(item) ?? 0;
    left.set(item, n - 1);
    return n <= 0;
  });
}

describe('the demo (startDemo against the system as processes)', () => {
  const pool = openDatabase();
  const narration: string[] = [];
  let services: ServiceProcess[] = [];
  let twilio: FakeTwilio;
  let meta: FakeMeta;
  let telegram: FakeTelegram;
  let channels: ChannelEndpoints;
  let gatewayUrl: string;
  let demo: RunningDemo | undefined;

  beforeAll(async () => {
    [twilio, meta, telegram] = await Promise.all([
      FakeTwilio.start(TWILIO.accountSid, TWILIO.authToken),
      FakeMeta.start('whatsapp', META.phoneNumberId, META.accessToken),
      FakeTelegram.start(TELEGRAM.botToken),
    ]);
    // Stats every 500 ms: the scenario waits on them before the returning customer writes.
    const [router, gateway] = await Promise.all([ServiceProcess.start('router'), ServiceProcess.start('gateway', { SUPERVISOR_STREAM_MS: '500' })]);
    services = [router, gateway];
    const adapters = await Promise.all([
      ServiceProcess.start('adapters/webchat', { TENANT_ID: TENANT, WEBCHAT_TOKEN_SECRET: randomBytes(32).toString('hex') }),
      ServiceProcess.start('adapters/sms', {
        TENANT_ID: TENANT,
        TWILIO_ACCOUNT_SID: TWILIO.accountSid,
        TWILIO_AUTH_TOKEN: TWILIO.authToken,
        TWILIO_FROM: TWILIO.businessNumber,
        TWILIO_API_BASE_URL: twilio.url,
        PUBLIC_BASE_URL: SMS_PUBLIC_BASE,
      }),
      ServiceProcess.start('adapters/whatsapp', {
        TENANT_ID: TENANT,
        META_APP_SECRET: META.appSecret,
        META_VERIFY_TOKEN: randomBytes(12).toString('hex'),
        WHATSAPP_ACCESS_TOKEN: META.accessToken,
        WHATSAPP_PHONE_NUMBER_ID: META.phoneNumberId,
        GRAPH_API_BASE_URL: meta.url,
      }),
      ServiceProcess.start('adapters/telegram', {
        TENANT_ID: TENANT,
        TELEGRAM_BOT_TOKEN: TELEGRAM.botToken,
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM.secret,
        TELEGRAM_API_BASE_URL: telegram.url,
      }),
    ]);
    services.push(...adapters);
    const [webchat, sms, whatsapp, telegramAdapter] = adapters;
    gatewayUrl = gateway.url('');
    channels = {
      webchat: { url: webchat.url('') },
      sms: { url: sms.url(''), publicUrl: SMS_PUBLIC_BASE, ...TWILIO },
      whatsapp: { url: whatsapp.url(''), appSecret: META.appSecret, phoneNumberId: META.phoneNumberId },
      telegram: { url: telegramAdapter.url(''), secretToken: TELEGRAM.secret },
    };
  });

  afterAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'demo-narration.log'), `${narration.join('\n')}\n`);
    await demo?.stop().catch(() => undefined);
    const [router, gateway, ...adapters] = services;
    await Promise.all(adapters.map((service) => service.stop()));
    await Promise.all([gateway?.stop(), router?.stop()]);
    await Promise.all([twilio?.close(), meta?.close(), telegram?.close()]);
    await pool.end();
  });

  async function audit(): Promise<AuditRow[]> {
    const { rows } = await pool.query<AuditRow>(
      `SELECT id, conversation_id, agent_id, mode, action FROM assignment_audit WHERE tenant_id = $1 ORDER BY id`,
      [TENANT],
    );
    return rows;
  }

  /** What the summary counts, as the database recorded it. */
  async function recorded(scriptedIds: string[]) {
    const { rows } = await pool.query<{ customersWrote: number; offers: number; offersTimedOut: number; assigned: number; closed: number }>(
      `SELECT (SELECT count(*)::int FROM messages WHERE tenant_id = $1 AND direction = 'inbound' AND sender = 'customer') AS "customersWrote",
              count(*) FILTER (WHERE action = 'offer')::int AS offers,
              count(*) FILTER (WHERE action = 'offer-timeout')::int AS "offersTimedOut",
              count(*) FILTER (WHERE action IN ('assign', 'accept'))::int AS assigned,
              count(*) FILTER (WHERE action = 'close' AND agent_id = ANY ($2))::int AS closed
         FROM assignment_audit WHERE tenant_id = $1`,
      [TENANT, scriptedIds],
    );
    return rows[0]!;
  }

  const counted = (summary: Pick<DemoResult, 'customersWrote' | 'offers' | 'offersTimedOut' | 'assigned' | 'closed'>) => ({
    customersWrote: summary.customersWrote,
    offers: summary.offers,
    offersTimedOut: summary.offersTimedOut,
    assigned: summary.assigned,
    closed: summary.closed,
  });

  it('plays its scenario as narrated: one holder per live chat, caps kept, threads wait at the caps, notices, replies, a sticky return, a clean stop', async () => {
    const started = await startDemo({
      gatewayUrl,
      deskUrl: `${gatewayUrl}/desk/`,
      channels,
      tokens: devTokenSettings(process.env, TENANT),
      seed: { agentPrefix: `${TENANT}-`, humanAsyncCap: HUMAN_ASYNC_CAP, scriptedAsyncCap: SCRIPTED_ASYNC_CAP, offerTimeoutS: 3 },
      scenario: {
        cycles: 1,
        returnWaitMs: 60_000,
        timelineOptions: { asyncCustomers: MESSAGING_CUSTOMERS, asyncSpacingMs: 200, burstVisitors: BURST_VISITORS, returnAfterMs: 4_000 },
      },
      behaviour: BEHAVIOUR,
      write: (line) => narration.push(line),
      windDownMs: 20_000,
    });
    demo = started;
    const humans = agentsOf(started.seed, 'human');
    const scripted = agentsOf(started.seed, 'scripted');
    const workers = [...humans, ...scripted];

    // Threads pile up: one moment (one statement, so one snapshot) with threads waiting while every
    // agent holds its async cap or a live chat (which holds off threads).
    const pileUp = waitFor(
      async () => {
        const { rows } = await pool.query<{ waiting: number; agents: Array<{ id: string; presence: string; sync: number; async: number; cap: number }> }>(
          `SELECT (SELECT count(*)::int FROM conversations WHERE tenant_id = $1 AND queue_id = $2 AND status = 'queued') AS waiting,
                  (SELECT json_agg(json_build_object('id', id, 'presence', presence, 'sync', active_sync, 'async', active_async, 'cap', async_cap))
                     FROM agents WHERE tenant_id = $1 AND id = ANY ($3)) AS agents`,
          [TENANT, DEMO_QUEUES.messaging, workers],
        );
        const [moment] = rows;
        const full = moment!.agents.every((agent) => agent.presence === 'online' && (agent.async >= agent.cap || agent.sync > 0));
        return moment!.waiting > 0 && full ? moment : undefined;
      },
      'threads waiting while every agent is at its async cap or busy with a live chat',
      40_000,
      100,
    );
    pileUp.catch(() => undefined);

    await started.scenario.done;
    const piled = await pileUp;
    expect(piled.agents).toHaveLength(workers.length);

    // The system settles: nothing waits or is on offer, every live chat ended, the scripted agents hold nothing.
    await waitFor(
      async () => {
        const { rows } = await pool.query<{ pending: number; live: number; scripted: number }>(
          `SELECT count(*) FILTER (WHERE status IN ('queued', 'offered'))::int AS pending,
                  count(*) FILTER (WHERE status = 'assigned' AND mode = 'sync')::int AS live,
                  count(*) FILTER (WHERE status = 'assigned' AND assigned_agent_id = ANY ($2))::int AS scripted
             FROM conversations WHERE tenant_id = $1`,
          [TENANT, scripted],
        );
        return rows[0]!.pending === 0 && rows[0]!.live === 0 && rows[0]!.scripted === 0;
      },
      'the demo to settle',
      40_000,
      200,
    );
    // What the agents' sockets and the customers reported catches up with what the database holds.
    await waitFor(
      async () => JSON.stringify(counted(summarize(started.feed.events))) === JSON.stringify(await recorded(scripted)),
      'the feed to catch up',
      15_000,
      200,
    ).catch(() => undefined);
    expect(counted(summarize(started.feed.events))).toEqual(await recorded(scripted));

    // Live chats: one holder at a time; nobody past a cap; every agent's threads reached its cap.
    const rows = await audit();
    expect(sharedLiveChats(rows)).toEqual([]);
    const replay = await replayAudit(pool, TENANT);
    expect(replay.violations).toEqual([]);
    for (const id of workers) {
      expect({ id, ...replay.peak.get(id) }).toEqual({ id, sync: 1, async: humans.includes(id) ? HUMAN_ASYNC_CAP : SCRIPTED_ASYNC_CAP });
      expect(started.feed.events.some((event) => event.kind === 'capacity' && event.agentId === id && event.full)).toBe(true);
    }

    // Web chat: the waiting visitors were told their place and an estimate; every visitor got an agent's reply.
    const visitors = started.scenario.customers.flatMap((customer) => (customer.visitor ? [customer.visitor] : []));
    expect(visitors).toHaveLength(1 + BURST_VISITORS);
    const positions = visitors.flatMap((visitor) => visitor.notices.filter((notice) => notice.kind === 'queue-position'));
    expect(positions.length).toBeGreaterThan(0);
    for (const notice of positions) {
      expect(notice.position).toBeGreaterThanOrEqual(1);
      expect(notice.estimatedWaitS).toBeGreaterThan(0);
    }
    // Those the router told (it stamps each notice it sends) are those who were told.
    const { rows: noticed } = await pool.query<{ id: string }>(
      `SELECT id FROM conversations WHERE tenant_id = $1 AND channel = 'webchat' AND last_notice_at IS NOT NULL`,
      [TENANT],
    );
    expect(noticed.map((row) => row.id).sort()).toEqual([...new Set(positions.map((notice) => notice.conversationId))].sort());
    for (const visitor of visitors) expect({ visitor: visitor.label, replied: visitor.replies.length > 0 }).toEqual({ visitor: visitor.label, replied: true });
    const { rows: replies } = await pool.query<{ channel: string; conversation_id: string; address: string; body: string }>(
      `SELECT m.channel, m.conversation_id, i.address, m.body
         FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN channel_identities i ON i.id = c.identity_id
        WHERE m.tenant_id = $1 AND m.direction = 'outbound' AND m.sender = 'agent' AND m.author_agent_id = ANY ($2)`,
      [TENANT, scripted],
    );
    const wanted = (channel: string, key: (reply: (typeof replies)[number]) => string) => replies.filter((reply) => reply.channel === channel).map(key);
    const atVisitors = () => visitors.flatMap((visitor) => visitor.replies.map((reply) => `${reply.conversationId} ${reply.text}`));
    expect(missing(wanted('webchat', (reply) => `${reply.conversation_id} ${reply.body}`), atVisitors())).toEqual([]);

    // Messaging: every scripted agent's reply reached its customer at the provider (SMS at least once).
    const atProviders = () => ({
      sms: missing(wanted('sms', (reply) => `${reply.address} ${reply.body}`), twilio.calls.map((call) => `${call.to} ${call.body}`)),
      whatsapp: missing(wanted('whatsapp', (reply) => `${reply.address} ${reply.body}`), meta.calls.map((call) => `${call.to} ${call.text}`)),
      telegram: missing(wanted('telegram', (reply) => `${reply.address} ${reply.body}`), telegram.calls.map((call) => `${call.chatId} ${call.text}`)),
    });
    const none = { sms: [], whatsapp: [], telegram: [] };
    await waitFor(() => JSON.stringify(atProviders()) === JSON.stringify(none), 'the replies at the providers', 20_000, 200).catch(() => undefined);
    expect(atProviders()).toEqual(none);
    expect(wanted('sms', (reply) => reply.body).length).toBeGreaterThan(0);

    // The returning customer: their thread went back to the scripted agent who had closed it.
    const back = started.feed.events.find((event): event is DemoEventOf<'customer-wrote'> => event.kind === 'customer-wrote' && event.returning === true);
    const returning = started.directory.customers.find((customer) => customer.label === back?.customer);
    if (!returning) throw new Error('nobody returned: see test-artifacts/demo-narration.log');
    const { rows: trail } = await pool.query<AuditRow>(
      `SELECT a.id, a.conversation_id, a.agent_id, a.mode, a.action
         FROM assignment_audit a JOIN conversations c ON c.id = a.conversation_id JOIN channel_identities i ON i.id = c.identity_id
        WHERE a.tenant_id = $1 AND i.channel = $2 AND i.address = $3 ORDER BY a.id`,
      [TENANT, returning.channel, returning.address],
    );
    const assigns = trail.filter((row) => row.action === 'assign');
    expect(assigns.length).toBeGreaterThanOrEqual(2);
    const [before, after] = assigns.slice(-2);
    const between = trail.filter((row) => Number(row.id) > Number(before!.id) && Number(row.id) < Number(after!.id)).map((row) => `${row.action} ${row.agent_id ?? ''}`.trim());
    expect(between).toEqual([`close ${before!.agent_id}`, after!.conversation_id === before!.conversation_id ? 'reopen' : 'enqueue']);
    expect(scripted).toContain(before!.agent_id);
    expect(after!.agent_id).toBe(before!.agent_id);
    expect(started.feed.events).toContainEqual(
      expect.objectContaining({ kind: 'agent', event: 'assigned', agentId: after!.agent_id, conversationId: after!.conversation_id, via: 'sticky' }),
    );

    // stop(): the summary counts what the database recorded; the demo queues parked, nothing on offer.
    demo = undefined;
    const result = await started.stop();
    expect(counted(result)).toEqual(await recorded(scripted));
    expect(result).toMatchObject({ stickyReturns: 1, problems: 0 });
    expect(result.assignedSticky).toBeGreaterThanOrEqual(1);
    expect(result.queueNotices).toBe(positions.length);
    expect(result.visitorReplies).toBe(visitors.reduce((sum, visitor) => sum + visitor.replies.length, 0));
    expect(result.capsReached).toBeGreaterThanOrEqual(workers.length);
    expect(result.peakWaiting[DEMO_QUEUES.messaging]).toBeGreaterThan(0);
    expect(result.peakWaiting[DEMO_QUEUES.live]).toBeGreaterThan(0);
    expect(result.offersTimedOut).toBeGreaterThan(0);

    const { rows: queues } = await pool.query<{ id: string; channels: string[] }>(`SELECT id, channels FROM queues WHERE tenant_id = $1 ORDER BY id`, [TENANT]);
    expect(queues).toEqual([
      { id: DEMO_QUEUES.live, channels: [] },
      { id: DEMO_QUEUES.messaging, channels: [] },
    ]);
    const { rows: left } = await pool.query<{ offered: number; queued: number; offers: number }>(
      `SELECT count(*) FILTER (WHERE status = 'offered')::int AS offered, count(*) FILTER (WHERE status = 'queued')::int AS queued,
              (SELECT count(*)::int FROM assignments s JOIN conversations k ON k.id = s.conversation_id WHERE k.tenant_id = $1 AND s.state = 'offered') AS offers
         FROM conversations WHERE tenant_id = $1`,
      [TENANT],
    );
    expect(left[0]).toEqual({ offered: 0, queued: 0, offers: 0 });
    const { rows: presence } = await pool.query<{ id: string; presence: string }>(`SELECT id, presence FROM agents WHERE id = ANY ($1) ORDER BY id`, [workers]);
    expect(Object.fromEntries(presence.map((agent) => [agent.id, agent.presence]))).toEqual(
      Object.fromEntries(workers.map((id) => [id, humans.includes(id) ? 'away' : 'offline'])),
    );
  }, 150_000);
});
