/**
 * The web chat adapter as a process beside the router and the agent gateway, against real RabbitMQ
 * and Postgres, with visitors and agents on real sockets: two visitors and two agents with room for
 * one live chat each — each chat is offered to exactly one free agent, an agent holding a chat gets
 * no second one while a third visitor waits and is told its position; replies reach the visitor live
 * with their sequence numbers; a visitor who was away resumes and loses nothing; a resent message is
 * stored once; bad tokens are refused; a chat no agent took in time becomes a thread whose reply is
 * emailed to the address the visitor left and is there when the visitor comes back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  AgentSocket,
  api,
  createVisitor,
  devToken,
  FakeSmtp,
  freePort,
  openDatabase,
  seedAgents,
  ServiceProcess,
  VisitorClient,
  waitFor,
} from '@app/testing';
import { issueVisitorToken } from '../../../apps/adapters/webchat/src/visitor-token';

const TENANT = `wc-${randomUUID().slice(0, 8)}`;
const SECRET = randomBytes(32).toString('hex');
const SHOP = 'https://shop.example.com';

interface Work {
  sync: { load: number; cap: number; items: Array<{ conversationId: string }> };
}

describe('web chat adapter (processes)', () => {
  const pool = openDatabase();
  const agentIds = [`${TENANT}-a1`, `${TENANT}-a2`];
  const tokens: Record<string, string> = {};
  const agents: Record<string, AgentSocket> = {};
  const visitors: VisitorClient[] = [];
  let router: ServiceProcess;
  let gateway: ServiceProcess;
  let adapter: ServiceProcess;
  let smtp: FakeSmtp;
  let base: string;
  let G: string;

  beforeAll(async () => {
    await seedAgents(pool, agentIds.map((id) => ({ id, tenantId: TENANT, syncCap: 1 })));
    [router, gateway] = await Promise.all([ServiceProcess.start('router', { PRESENCE_LEASE_S: '3600' }), ServiceProcess.start('gateway')]);
    smtp = await FakeSmtp.start();
    adapter = await ServiceProcess.start('adapters/webchat', {
      HTTP_PORT: String(await freePort()),
      TENANT_ID: TENANT,
      WEBCHAT_TOKEN_SECRET: SECRET,
      WEBCHAT_ALLOWED_ORIGINS: SHOP,
      SMTP_OUT_URL: `smtp://${smtp.user}:${smtp.password}@127.0.0.1:${smtp.port}`,
      EMAIL_FROM: 'Support <support@example.com>',
    });
    base = adapter.url('');
    G = gateway.url('');
    for (const id of agentIds) {
      tokens[id] = await devToken(id, TENANT);
      agents[id] = await AgentSocket.connect(G, tokens[id]!);
    }
  });

  afterAll(async () => {
    for (const visitor of visitors) visitor.close();
    for (const socket of Object.values(agents)) socket.close();
    await adapter?.stop();
    await Promise.all([gateway?.stop(), router?.stop()]);
    await smtp?.close();
    await pool.end();
  });

  async function visitor(token?: string, previous?: VisitorClient) {
    const identity = token ? { token, visitorId: '' } : await createVisitor(base);
    const client = await VisitorClient.connect(base, identity.token, previous);
    visitors.push(client);
    return { ...identity, client };
  }

  const conversationOf = async (visitorId: string) => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT c.id FROM conversations c JOIN channel_identities i ON i.id = c.identity_id
        WHERE i.tenant_id = $1 AND i.address = $2 AND c.status <> 'closed'`,
      [TENANT, visitorId],
    );
    return rows[0]?.id;
  };

  const offersOf = (conversationId: string) =>
    agentIds.flatMap((id) => agents[id]!.events.filter((event) => event.type === 'agent.offer' && event.conversationId === conversationId).map(() => id));

  /** Waits for the visitor's conversation to be offered, and has the offered agent accept it over REST. */
  async function offeredAndAccepted(visitorId: string): Promise<{ conversationId: string; agentId: string }> {
    const conversationId = await waitFor(() => conversationOf(visitorId), 'the conversation stored');
    const [agentId] = await waitFor(() => (offersOf(conversationId).length > 0 ? offersOf(conversationId) : undefined), 'an offer');
    const accepted = await api(G, tokens[agentId!], 'POST', `/v1/offers/${conversationId}/accept`);
    expect(accepted).toMatchObject({ status: 200, body: { status: 'assigned' } });
    return { conversationId, agentId: agentId! };
  }

  const reply = (agentId: string, conversationId: string, text: string) =>
    api<{ messageId: string }>(G, tokens[agentId], 'POST', `/v1/conversations/${conversationId}/replies`, { clientMessageId: randomUUID(), text });

  it('refuses a missing, forged or foreign visitor token with a clear error', async () => {
    const foreign = issueVisitorToken(randomBytes(32).toString('hex')).token;
    const [, , , tail] = foreign.split('.');
    const forged = `${issueVisitorToken(SECRET).token.split('.').slice(0, 3).join('.')}.${tail}`;
    for (const [token, code] of [[undefined, 'missing_token'], ['not-a-token', 'invalid_token'], [foreign, 'invalid_token'], [forged, 'invalid_token']] as const) {
      const refused = await VisitorClient.connect(base, token).then(
        () => undefined,
        (error: Error & { code?: string }) => error,
      );
      expect(refused).toBeInstanceOf(Error);
      expect({ code: refused?.code, long: (refused?.message.length ?? 0) > 20 }).toEqual({ code, long: true });
    }
  });

  it('serves the widget, the demo page and the socket.io client; the token endpoint answers allowed origins only', async () => {
    const widget = await fetch(`${base}/webchat/widget.js`);
    expect(widget.status).toBe(200);
    expect(widget.headers.get('content-type')).toContain('javascript');
    expect(await widget.text()).toContain("role: 'log'");
    const demo = await fetch(`${base}/webchat/demo`);
    expect(demo.headers.get('content-type')).toContain('text/html');
    expect(await demo.text()).toContain('<script src="/webchat/widget.js"');
    expect((await fetch(`${base}/socket.io/socket.io.js`)).status).toBe(200);

    const allowed = await fetch(`${base}/webchat/visitors`, { method: 'POST', headers: { origin: SHOP } });
    expect(allowed.status).toBe(201);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SHOP);
    const other = await fetch(`${base}/webchat/visitors`, { method: 'POST', headers: { origin: 'https://elsewhere.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('two visitors, two agents: one chat each, a busy agent gets no second one, a third visitor waits with its position', async () => {
    const one = await visitor();
    const two = await visitor();
    expect(await one.client.send('hello from one')).toMatchObject({ ok: true });
    const first = await offeredAndAccepted(one.visitorId);
    await one.client.waitForEvent('agent-joined', (payload) => payload.conversationId === first.conversationId, 'agent joined');

    expect(await two.client.send('hello from two')).toMatchObject({ ok: true });
    const second = await offeredAndAccepted(two.visitorId);
    expect(second.agentId).not.toBe(first.agentId);

    const three = await visitor();
    expect(await three.client.send('hello from three')).toMatchObject({ ok: true });
    const notice = await three.client.waitForEvent('notice', (payload) => payload.kind === 'queue-position', 'a queue-position notice');
    expect(notice.payload).toMatchObject({ position: 1, text: expect.any(String) });
    expect(Number(notice.payload.estimatedWaitS)).toBeGreaterThan(0);
    const third = await waitFor(() => conversationOf(three.visitorId), 'the third conversation');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect({ one: offersOf(first.conversationId), two: offersOf(second.conversationId), three: offersOf(third) }).toEqual({
      one: [first.agentId],
      two: [second.agentId],
      three: [],
    });
    for (const id of agentIds) {
      const work = await api<Work>(G, tokens[id], 'GET', '/v1/me/work');
      expect(work.body.sync).toMatchObject({ load: 1, cap: 1 });
    }

    // A reply reaches the visitor live, with the sequence number the router gave it.
    const sent = await reply(first.agentId, first.conversationId, 'Hi one, how can I help?');
    expect(sent.status).toBe(202);
    const live = await one.client.waitForMessage((message) => message.id === sent.body.messageId, 'the reply on the visitor socket');
    expect(live).toMatchObject({ conversationId: first.conversationId, sender: 'agent', text: 'Hi one, how can I help?', seq: 2 });

    // Typing both ways.
    one.client.typing(true);
    await waitFor(() => agents[first.agentId]!.typing.find((signal) => signal.conversationId === first.conversationId && signal.typing), 'visitor typing at the agent');
    agents[first.agentId]!.socket.emit('typing', { conversationId: first.conversationId, typing: true });
    await one.client.waitForEvent('typing', (payload) => payload.typing === true, 'agent typing at the visitor');

    // The chat ends for visitor two; its agent is free again and the waiting visitor is offered to them.
    const closed = await api(G, tokens[second.agentId], 'POST', `/v1/conversations/${second.conversationId}/close`, { wrapUp: 'done' });
    expect(closed.status).toBe(200);
    await two.client.waitForEvent('closed', (payload) => payload.conversationId === second.conversationId, 'closed at the visitor');
    await waitFor(() => (offersOf(third).length > 0 ? offersOf(third) : undefined), 'the waiting visitor offered', 20_000);
    expect(offersOf(third)).toEqual([second.agentId]);

    // Both agents free again for the next tests.
    expect((await api(G, tokens[second.agentId], 'POST', `/v1/offers/${third}/accept`)).status).toBe(200);
    await three.client.waitForEvent('agent-joined', (payload) => payload.conversationId === third, 'agent joined the third chat');
    for (const [agentId, conversationId] of [[second.agentId, third], [first.agentId, first.conversationId]]) {
      expect((await api(G, tokens[agentId!], 'POST', `/v1/conversations/${conversationId}/close`, { wrapUp: 'done' })).status).toBe(200);
    }
  });

  it('resume: a visitor away while the agent replies twice gets both on reconnect, nothing lost', async () => {
    const guest = await visitor();
    expect(await guest.client.send('are you there?')).toMatchObject({ ok: true });
    const { conversationId, agentId } = await offeredAndAccepted(guest.visitorId);
    const before = await reply(agentId, conversationId, 'yes, one moment');
    await guest.client.waitForMessage((message) => message.id === before.body.messageId, 'the first reply');
    expect(await guest.client.resume(0, null)).toMatchObject({ ok: true, conversationId, lastSeq: 2 });
    guest.client.close();

    const missed = [await reply(agentId, conversationId, 'found your order'), await reply(agentId, conversationId, 'it ships today')];
    await waitFor(async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1`, [conversationId]);
      return rows[0].n === 4;
    }, 'both replies stored');

    const back = await VisitorClient.connect(base, guest.token, guest.client);
    visitors.push(back);
    expect(await back.resume()).toMatchObject({ ok: true, conversationId, lastSeq: 4 });
    expect(back.messages.map((message) => [message.seq, message.sender, message.text])).toEqual([
      [2, 'agent', 'yes, one moment'],
      [1, 'customer', 'are you there?'],
      [3, 'agent', 'found your order'],
      [4, 'agent', 'it ships today'],
    ]);
    expect(back.messages.slice(2).map((message) => message.id)).toEqual(missed.map((sent) => sent.body.messageId));
    // The customer's own message comes back with its client id, so the widget matches what it shows.
    expect(back.messages[1]!.clientMessageId).toEqual(expect.any(String));
    expect((await api(G, tokens[agentId], 'POST', `/v1/conversations/${conversationId}/close`, { wrapUp: 'done' })).status).toBe(200);
  });

  it('a send repeated with the same clientMessageId is stored once; bad input is refused with a reason', async () => {
    const guest = await visitor();
    const clientMessageId = randomUUID();
    expect(await guest.client.send('only once', clientMessageId)).toMatchObject({ ok: true });
    expect(await guest.client.send('only once', clientMessageId)).toMatchObject({ ok: true });
    const stored = async () =>
      (
        await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1 AND provider_message_id = $2`, [
          TENANT,
          `${guest.visitorId}:${clientMessageId}`,
        ])
      ).rows[0]!.n;
    await waitFor(async () => (await stored()) === 1, 'the message stored');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stored()).toBe(1);

    expect(await guest.client.send('   ')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    expect(await guest.client.send('x', 'not allowed!')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    expect(await guest.client.email('not-an-email')).toMatchObject({ ok: false, error: { code: 'invalid_email' } });
    expect(await guest.client.email('visitor@example.com')).toMatchObject({ ok: true });
    const { rows } = await pool.query(
      `SELECT cu.attributes ->> 'email' AS email FROM customers cu JOIN channel_identities i ON i.customer_id = cu.id
        WHERE i.tenant_id = $1 AND i.address = $2`,
      [TENANT, guest.visitorId],
    );
    expect(rows[0].email).toBe('visitor@example.com');

    // Ends the chat, so that no agent holds live work in the next test.
    const { conversationId, agentId } = await offeredAndAccepted(guest.visitorId);
    expect((await api(G, tokens[agentId], 'POST', `/v1/conversations/${conversationId}/close`, { wrapUp: 'done' })).status).toBe(200);
  });

  it('downgrade: no agent within the max wait → the visitor is told and leaves an email; the reply meanwhile is emailed and there on return', async () => {
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, max_wait_s, downgrade_to_async) VALUES ($1, 'chat', 'Chat', '{webchat}', 1, true)`,
      [TENANT],
    );
    for (const id of agentIds) expect((await api(G, tokens[id], 'PUT', '/v1/me/presence', { presence: 'away' })).status).toBeLessThan(300);

    const guest = await visitor();
    expect(await guest.client.send('is anyone there?')).toMatchObject({ ok: true });
    const conversationId = await waitFor(() => conversationOf(guest.visitorId), 'the conversation stored');
    await guest.client.waitForEvent('downgraded', (payload) => payload.conversationId === conversationId, 'downgraded at the visitor', 20_000);
    const notice = await guest.client.waitForEvent('notice', (payload) => payload.kind === 'downgraded', 'the downgraded notice');
    expect(String(notice.payload.text).length).toBeGreaterThan(10);
    expect(await guest.client.email('later@example.com')).toMatchObject({ ok: true });
    guest.client.close();

    const [agentId] = agentIds;
    expect((await api(G, tokens[agentId!], 'PUT', '/v1/me/presence', { presence: 'online' })).status).toBeLessThan(300);
    await agents[agentId!]!.waitForEvent((event) => event.type === 'agent.assigned' && event.conversationId === conversationId, 'the thread assigned', 20_000);
    const sent = await reply(agentId!, conversationId, 'Sorry for the wait, we are here now.');
    expect(sent.status).toBe(202);
    const email = await waitFor(() => smtp.messages.find((message) => message.envelopeTo.includes('later@example.com')), 'the reply emailed');
    expect(email.text).toContain('Sorry for the wait, we are here now.');

    const back = await VisitorClient.connect(base, guest.token, guest.client);
    visitors.push(back);
    expect(await back.resume()).toMatchObject({ ok: true, conversationId, mode: 'async' });
    expect(back.messages.map((message) => message.text)).toEqual(['is anyone there?', 'Sorry for the wait, we are here now.']);
  });
});
