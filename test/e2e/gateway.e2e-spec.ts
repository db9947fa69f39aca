/**
 * The agent gateway as real processes (two replicas) beside the router, against real RabbitMQ and
 * Postgres: the full flow from an envelope to an agent's socket and back out to the channel, the
 * authorisation matrix over every route (S2), token attacks (S3), input limits (S4), resume after a
 * disconnect, and events crossing replicas.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, generateKeyPair } from 'jose';
import { EXCHANGES, routingKeys } from '@app/contracts';
import {
  AgentSocket,
  api,
  buildEnvelope,
  devToken,
  firstSupervisorSnapshot,
  openDatabase,
  seedAgents,
  ServiceProcess,
  TestBroker,
  uniquePhone,
  waitFor,
  type ApiResponse,
} from '@app/testing';
import { DEV_JWT_ISSUER, DEV_JWT_SECRET, JWT_AUDIENCE_DEFAULT } from '../../apps/gateway/src/gateway.config';

const ROOT = join(__dirname, '..', '..');
const newTenant = () => `t-${randomUUID().slice(0, 8)}`;

interface Listed {
  at: string;
  conversations: Array<{
    id: string;
    channel: string;
    mode: string;
    status: string;
    queueId: string;
    priority: number;
    assignedAgentId: string | null;
    assignedAgentName: string | null;
    customer: { id: string; name: string | null };
    queuedAt: string | null;
    waitingS: number | null;
    assignedAt: string | null;
    lastMessageAt: string;
  }>;
  nextCursor: string | null;
}

interface Work {
  offers: Array<{ conversationId: string; expiresAt?: string }>;
  sync: { load: number; cap: number; items: Array<{ conversationId: string }> };
  async: { load: number; cap: number; items: Array<{ conversationId: string }> };
}

describe('agent gateway (processes)', () => {
  const pool = openDatabase();
  let broker: TestBroker;
  let router: ServiceProcess;
  let gatewayA: ServiceProcess;
  let gatewayB: ServiceProcess;
  let A: string;
  let B: string;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    broker = await TestBroker.open();
    router = await ServiceProcess.start('router');
    [gatewayA, gatewayB] = await Promise.all([
      ServiceProcess.start('gateway', { RATE_LIMIT: '1000' }),
      ServiceProcess.start('gateway', { RATE_LIMIT: '40', RATE_LIMIT_WINDOW_MS: '60000', BODY_LIMIT: '16kb' }),
    ]);
    A = gatewayA.url('');
    B = gatewayB.url('');
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all([gatewayA?.stop(), gatewayB?.stop()]);
    await router?.stop();
    await broker?.close();
    await pool.end();
  });

  async function connect(base: string, token: string, lastEventId?: string, previous?: AgentSocket) {
    const socket = await AgentSocket.connect(base, token, lastEventId, previous);
    sockets.push(socket);
    return socket;
  }

  /** A tenant with two online agents; returns their tokens. */
  async function tenantWithAgents(asyncCap = 8) {
    const tenant = newTenant();
    const [a1, a2] = [`${tenant}-a1`, `${tenant}-a2`];
    await seedAgents(pool, [
      { id: a1, tenantId: tenant, asyncCap },
      { id: a2, tenantId: tenant, presence: 'offline', asyncCap },
    ]);
    return { tenant, a1, a2, t1: await devToken(a1, tenant), t2: await devToken(a2, tenant) };
  }

  /** A customer message on an async channel, assigned to the tenant's online agent. */
  async function assignedThread(tenant: string, agentToken: string, base = A) {
    const before = await api<Work>(base, agentToken, 'GET', '/v1/me/work');
    const envelope = buildEnvelope({ tenantId: tenant });
    await broker.publish(EXCHANGES.inbound, routingKeys.inbound('sms'), envelope);
    const work = await waitFor(async () => {
      const now = await api<Work>(base, agentToken, 'GET', '/v1/me/work');
      return now.body.async.items.length > before.body.async.items.length ? now.body : undefined;
    }, 'the thread assigned');
    const known = new Set(before.body.async.items.map((item) => item.conversationId));
    return { conversationId: work.async.items.find((item) => !known.has(item.conversationId))!.conversationId, envelope };
  }

  it('full flow: envelope → offer on the socket → accept over REST → reply on the outbound exchange → delivery status on the socket', async () => {
    const { tenant, a1, t1 } = await tenantWithAgents();
    const socket = await connect(A, t1);
    const outbound = await broker.collect(EXCHANGES.outbound, 'outbound.webchat');

    const envelope = buildEnvelope({ tenantId: tenant, channel: 'webchat', customer: { address: `visitor-${randomUUID()}` } });
    await broker.publish(EXCHANGES.inbound, routingKeys.inbound('webchat'), envelope);
    const offer = await socket.waitForEvent((event) => event.type === 'agent.offer', 'an offer on the socket');
    expect(offer).toMatchObject({ agentId: a1, channel: 'webchat', mode: 'sync' });
    expect(Date.parse(String(offer.expiresAt))).toBeGreaterThan(Date.now());
    const conversationId = offer.conversationId!;

    const listed = await api<Work>(A, t1, 'GET', '/v1/me/work');
    expect(listed.body.offers.map((item) => item.conversationId)).toEqual([conversationId]);

    const accepted = await api(A, t1, 'POST', `/v1/offers/${conversationId}/accept`);
    expect(accepted).toMatchObject({ status: 200, body: { status: 'assigned' } });
    await socket.waitForEvent((event) => event.type === 'agent.assigned' && event.conversationId === conversationId, 'assigned');
    const work = await api<Work>(A, t1, 'GET', '/v1/me/work');
    expect(work.body.sync).toMatchObject({ load: 1, cap: 1, items: [{ conversationId }] });
    expect(work.body.async).toMatchObject({ load: 0, cap: 8, items: [] });

    const reply = await api<{ messageId: string; deliveryStatus: string; duplicate: boolean }>(
      A, t1, 'POST', `/v1/conversations/${conversationId}/replies`, { clientMessageId: 'c-1', text: 'Hi, how can I help?' },
    );
    expect(reply).toMatchObject({ status: 202, body: { deliveryStatus: 'queued', duplicate: false } });
    const again = await api(A, t1, 'POST', `/v1/conversations/${conversationId}/replies`, { clientMessageId: 'c-1', text: 'Hi, how can I help?' });
    expect(again.body).toEqual({ messageId: reply.body.messageId, deliveryStatus: 'queued', duplicate: true });

    const [sent] = await outbound.waitForCount(1, 'the reply on outbound.webchat');
    expect(sent.body).toMatchObject({
      type: 'agent.reply',
      messageId: reply.body.messageId,
      conversationId,
      channel: 'webchat',
      agentId: a1,
      to: { address: envelope.customer.address },
      text: 'Hi, how can I help?',
    });

    await broker.publish(EXCHANGES.inbound, routingKeys.delivery('webchat'), {
      version: 1, tenantId: tenant, channel: 'webchat', messageId: reply.body.messageId, providerMessageId: 'WC-1', status: 'delivered',
      occurredAt: new Date().toISOString(),
    });
    const delivered = await socket.waitForEvent((event) => event.type === 'agent.delivery', 'the delivery status on the socket');
    expect(delivered).toMatchObject({ messageId: reply.body.messageId, status: 'delivered', conversationId });
    // A late "sent" never moves the message back.
    await broker.publish(EXCHANGES.inbound, routingKeys.delivery('webchat'), {
      version: 1, tenantId: tenant, channel: 'webchat', providerMessageId: 'WC-1', status: 'sent', occurredAt: new Date().toISOString(),
    });
    await broker.publish(EXCHANGES.inbound, routingKeys.delivery('webchat'), {
      version: 1, tenantId: tenant, channel: 'webchat', providerMessageId: 'WC-1', status: 'read', occurredAt: new Date().toISOString(),
    });
    await socket.waitForEvent((event) => event.type === 'agent.delivery' && event.status === 'read', 'read status');
    expect(socket.events.filter((event) => event.type === 'agent.delivery').map((event) => event.status)).toEqual(['delivered', 'read']);

    await broker.publish(EXCHANGES.inbound, routingKeys.inbound('webchat'), {
      ...buildEnvelope({ tenantId: tenant, channel: 'webchat', customer: envelope.customer, content: { text: 'my order is late' } }),
    });
    const message = await socket.waitForEvent(
      (event) => event.type === 'agent.message' && (event.message as { sender?: string } | undefined)?.sender === 'customer',
      'the customer message with its text',
    );
    expect(message.message).toMatchObject({ text: 'my order is late', direction: 'inbound' });

    const note = await api(A, t1, 'POST', `/v1/conversations/${conversationId}/notes`, { clientMessageId: 'n-1', text: 'VIP, be quick' });
    expect(note.status).toBe(201);
    const history = await api<{ messages: Array<{ text: string; direction: string }>; nextCursor: string }>(
      A, t1, 'GET', `/v1/conversations/${conversationId}/messages?limit=2`,
    );
    expect(history.body.messages.map((item) => item.direction)).toEqual(['internal', 'inbound']);
    const older = await api<{ messages: Array<{ text: string; deliveryStatus: string | null }>; nextCursor: string | null }>(
      A, t1, 'GET', `/v1/conversations/${conversationId}/messages?limit=2&before=${history.body.nextCursor}`,
    );
    expect(older.body.messages.map((item) => [item.text, item.deliveryStatus])).toEqual([
      ['Hi, how can I help?', 'read'],
      ['hello', null],
    ]);

    // Typing both ways on a live channel: the customer's reaches the socket, the agent's the channel.
    await broker.publish(EXCHANGES.inbound, routingKeys.typing('webchat'), { version: 1, tenantId: tenant, conversationId, typing: true });
    await waitFor(() => socket.typing.find((signal) => signal.conversationId === conversationId), 'customer typing on the socket');
    socket.socket.emit('typing', { conversationId, typing: true });
    await waitFor(() => outbound.items.find((item) => (item.body as { type: string }).type === 'agent.typing'), 'agent typing on outbound.webchat');
    const heartbeat = (await socket.socket.timeout(5_000).emitWithAck('heartbeat')) as { ok: boolean };
    expect(heartbeat.ok).toBe(true);

    const closed = await api(A, t1, 'POST', `/v1/conversations/${conversationId}/close`, { wrapUp: 'refund issued' });
    expect(closed).toMatchObject({ status: 200, body: { status: 'closed' } });
    const final = await api<{ messages: Array<{ text: string; direction: string }> }>(A, t1, 'GET', `/v1/conversations/${conversationId}/messages`);
    expect(final.body.messages[0]).toMatchObject({ text: 'refund issued', direction: 'internal' });
    const afterClose = await api(A, t1, 'POST', `/v1/conversations/${conversationId}/replies`, { clientMessageId: 'c-2', text: 'still there?' });
    expect(afterClose).toMatchObject({ status: 403, body: { error: { code: 'not_holder' } } });
  });

  it('serves its OpenAPI document and its metrics', async () => {
    const document = await api<{ paths: Record<string, unknown> }>(A, undefined, 'GET', '/docs/openapi.json');
    expect(document.status).toBe(200);
    expect(Object.keys(document.body.paths)).toEqual(expect.arrayContaining(['/v1/me/work', '/v1/conversations/{id}/replies']));
    const metrics = await (await fetch(`${A}/metrics`)).text();
    expect(metrics).toMatch(/gateway_command_seconds_count\{command="[a-z.]+",outcome="ok"\} [1-9]/);
    expect(metrics).toContain('gateway_connected_agents');
  });

  it('resume: events published while the socket was away all arrive after reconnecting with the last event id', async () => {
    const { tenant, t1 } = await tenantWithAgents();
    let socket = await connect(A, t1);
    const first = await assignedThread(tenant, t1);
    await socket.waitForEvent((event) => event.conversationId === first.conversationId, 'first assignment');
    const resumeFrom = socket.lastEventId!;
    socket.close();

    const missed: string[] = [];
    for (let index = 0; index < 5; index += 1) missed.push((await assignedThread(tenant, t1)).conversationId);
    await broker.publish(EXCHANGES.inbound, routingKeys.inbound('sms'), buildEnvelope({ tenantId: tenant, customer: first.envelope.customer, content: { text: 'again' } }));
    await waitFor(async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1`, [tenant]);
      return rows[0].n === 7;
    }, 'all messages stored');

    socket = await connect(B, t1, resumeFrom, socket);
    for (const conversationId of missed) {
      await socket.waitForEvent((event) => event.type === 'agent.assigned' && event.conversationId === conversationId, `missed ${conversationId}`, 5_000);
    }
    await socket.waitForEvent((event) => event.type === 'agent.message' && event.conversationId === first.conversationId, 'missed message', 5_000);
    expect(socket.resyncs).toEqual([]);

    const stale = await connect(A, t1, randomUUID());
    await waitFor(() => stale.resyncs.length === 1, 'a resync for an unknown last event id');
  });

  it('two replicas: a socket on A receives the events of a command sent through B', async () => {
    const { tenant, t1 } = await tenantWithAgents();
    const onA = await connect(A, t1);
    const { conversationId } = await assignedThread(tenant, t1, B);
    const released = await api(B, t1, 'POST', `/v1/conversations/${conversationId}/release`);
    expect(released.status).toBe(200);
    await onA.waitForEvent((event) => event.type === 'agent.revoked' && event.conversationId === conversationId, 'revocation on A');
  });

  describe('S2: object-level authorisation over every route of the OpenAPI document', () => {
    const openapi = JSON.parse(readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(openapi.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));

    const bodies: Record<string, unknown> = {
      '/v1/me/presence': { presence: 'online' },
      '/v1/conversations/{id}/replies': { clientMessageId: 'm-1', text: 'hello' },
      '/v1/conversations/{id}/notes': { clientMessageId: 'n-1', text: 'note' },
      '/v1/conversations/{id}/transfer': { queueId: 'nowhere' },
      '/v1/supervisor/conversations/{id}/reassign': { queueId: 'nowhere' },
      '/v1/supervisor/agents/{agentId}/capacity': { asyncCap: 3 },
      '/v1/supervisor/agents/{agentId}/queues': { queueIds: [] },
      '/v1/admin/queues/{id}': { name: 'Queue' },
      '/v1/admin/agents/{id}': { name: 'Agent' },
    };

    it('every route is covered: conversation routes hide other agents\' and tenants\' conversations, role routes refuse agents', async () => {
      const owner = await tenantWithAgents();
      const other = await tenantWithAgents();
      const { conversationId } = await assignedThread(owner.tenant, owner.t1);
      // Left alone by the loop (which closes `conversationId`), so tenant-wide lists have something to show.
      const { conversationId: untouchedId } = await assignedThread(owner.tenant, owner.t1);
      const sameTenantAgent = owner.t2;
      const otherTenantAgent = other.t1;
      const otherTenantSupervisor = await devToken(`${other.tenant}-sup`, other.tenant, 'supervisor');
      const otherTenantAdmin = await devToken(`${other.tenant}-adm`, other.tenant, 'admin');
      const ownerAdmin = await devToken(`${owner.tenant}-adm`, owner.tenant, 'admin');
      const ownerSupervisor = await devToken(`${owner.tenant}-sup`, owner.tenant, 'supervisor');
      const ownerQueue = `q-${owner.tenant}`;
      expect((await api(A, ownerAdmin, 'PUT', `/v1/admin/queues/${ownerQueue}`, { name: 'Owner queue' })).status).toBe(201);
      const checked: string[] = [];

      for (const route of routes) {
        const key = `${route.method} ${route.path}`;
        const body = ['POST', 'PUT'].includes(route.method) ? (bodies[route.path] ?? {}) : undefined;
        const resourceId = route.path.startsWith('/v1/admin/queues')
          ? ownerQueue
          : route.path.startsWith('/v1/admin/agents')
            ? owner.a1
            : conversationId;
        const path = (id: string) => route.path.replace('{id}', id).replace('{agentId}', owner.a1);
        const call = (token: string, id = resourceId) => api(A, token, route.method, path(id), body);

        const anonymous = await api(A, undefined, route.method, path(resourceId), body);
        expect({ key, status: anonymous.status }).toEqual({ key, status: 401 });

        if (route.path.startsWith('/v1/supervisor') || route.path.startsWith('/v1/admin')) {
          const asAgent = await call(owner.t1);
          expect({ key, status: asAgent.status, code: (asAgent.body as { error?: { code: string } }).error?.code }).toEqual({
            key, status: 403, code: 'forbidden_role',
          });
          if (route.path.includes('{id}') || route.path.includes('{agentId}')) {
            // Another tenant's supervisor/admin naming this tenant's conversation, agent or queue finds
            // nothing — except that queue ids are per tenant (PUT creates their own queue of that name,
            // which the DELETE after it removes) and agent ids are global (PUT refuses a taken id).
            const foreign = await call(route.path.startsWith('/v1/admin') ? otherTenantAdmin : otherTenantSupervisor);
            const expected =
              { 'PUT /v1/admin/queues/{id}': 201, 'DELETE /v1/admin/queues/{id}': 204, 'PUT /v1/admin/agents/{id}': 409 }[key] ?? 404;
            expect({ key, status: foreign.status }).toEqual({ key, status: expected });
          }
          if (route.method === 'GET' && !route.path.includes('{')) {
            // A tenant-wide read (stats, the conversation list, queue and agent lists): another tenant's
            // supervisor/admin sees nothing of this tenant — no conversation, no agent or queue (their
            // ids carry the tenant's name) — while this tenant's sees them.
            const admin = route.path.startsWith('/v1/admin');
            const foreign = await call(admin ? otherTenantAdmin : otherTenantSupervisor);
            const seen = JSON.stringify(foreign.body);
            const leaks = [owner.tenant, conversationId, untouchedId].some((owned) => seen.includes(owned));
            expect({ key, status: foreign.status, leaks }).toEqual({
              key, status: 200, leaks: false,
            });
            const own = await call(admin ? ownerAdmin : ownerSupervisor);
            expect({ key, status: own.status, sees: JSON.stringify(own.body).includes(owner.tenant) }).toEqual({ key, status: 200, sees: true });
            if (key === 'GET /v1/supervisor/conversations') {
              const listed = own.body as unknown as { conversations: Array<{ id: string }> };
              expect(listed.conversations.map((item) => item.id)).toContain(untouchedId);
            }
          }
          checked.push(key);
          continue;
        }
        if (route.path.includes('{id}')) {
          for (const [who, token] of [['same-tenant agent', sameTenantAgent], ['other-tenant agent', otherTenantAgent]] as const) {
            const denied = await call(token);
            expect({ key, who, status: denied.status, code: (denied.body as { error?: { code: string } }).error?.code }).toEqual({
              key, who, status: 404, code: 'conversation_not_found',
            });
          }
          // The owner gets past authorisation (the route may still refuse for the conversation's state).
          const own = await call(owner.t1);
          const code = (own.body as { error?: { code: string } }).error?.code;
          expect({ key, status: own.status, code }).not.toMatchObject({ code: expect.stringMatching(/^(conversation_not_found|token_.*|forbidden_role)$/) });
          expect(own.status).toBeLessThan(500);
        }
        checked.push(key);
      }
      expect(checked.length).toBe(routes.length);
      expect(routes.length).toBeGreaterThan(20);
      // Nothing of the owner's was changed by the others: the conversation never went to another
      // agent, the owner's queue and agent are as they were.
      const { rows } = await pool.query(`SELECT DISTINCT agent_id FROM assignments WHERE conversation_id = $1`, [conversationId]);
      expect(rows.map((row) => row.agent_id)).toEqual([owner.a1]);
      expect((await api(A, ownerAdmin, 'GET', `/v1/admin/queues/${ownerQueue}`)).body).toMatchObject({ name: 'Owner queue' });
      const queues = await pool.query(`SELECT tenant_id FROM queues WHERE id = $1`, [ownerQueue]);
      expect(queues.rows.map((row) => row.tenant_id)).toEqual([owner.tenant]);
      expect((await api(A, ownerAdmin, 'GET', `/v1/admin/agents/${owner.a1}`)).body).toMatchObject({ id: owner.a1, name: owner.a1 });
    });
  });

  describe('S3: tokens', () => {
    const claims = (tenant: string) => ({ tenant, role: 'agent' });
    const sign = async (payload: Record<string, unknown>, options: { alg?: string; issuer?: string; audience?: string; exp?: string | number } = {}) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: options.alg ?? 'HS256' })
        .setSubject('s3-agent')
        .setIssuer(options.issuer ?? DEV_JWT_ISSUER)
        .setAudience(options.audience ?? JWT_AUDIENCE_DEFAULT)
        .setIssuedAt()
        .setExpirationTime(options.exp ?? '1h')
        .sign(new TextEncoder().encode(DEV_JWT_SECRET));

    it('alg=none, algorithm confusion, expired, wrong audience, wrong issuer → 401, on REST and on the socket', async () => {
      const tenant = newTenant();
      await seedAgents(pool, [{ id: 's3-agent', tenantId: tenant }]);
      const valid = await sign(claims(tenant));
      expect((await api(A, valid, 'GET', '/v1/me')).status).toBe(200);

      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 's3-agent', ...claims(tenant), iss: DEV_JWT_ISSUER, aud: JWT_AUDIENCE_DEFAULT, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      const { privateKey } = await generateKeyPair('RS256');
      const rsSigned = await new SignJWT(claims(tenant))
        .setProtectedHeader({ alg: 'RS256' })
        .setSubject('s3-agent')
        .setIssuer(DEV_JWT_ISSUER)
        .setAudience(JWT_AUDIENCE_DEFAULT)
        .setExpirationTime('1h')
        .sign(privateKey);
      const attacks: Record<string, string> = {
        'alg none': none,
        'algorithm confusion (RS256 where only HS256 is allowed)': rsSigned,
        'HS512 where only HS256 is allowed': await sign(claims(tenant), { alg: 'HS512' }),
        expired: await sign(claims(tenant), { exp: Math.floor(Date.now() / 1000) - 3_600 }),
        'wrong audience': await sign(claims(tenant), { audience: 'someone-else' }),
        'wrong issuer': await sign(claims(tenant), { issuer: 'https://evil.example' }),
      };
      for (const [attack, token] of Object.entries(attacks)) {
        const response = await api(A, token, 'GET', '/v1/me');
        expect({ attack, status: response.status, hasCode: typeof (response.body as { error?: { code?: string } }).error?.code }).toEqual({
          attack, status: 401, hasCode: 'string',
        });
        expect(JSON.stringify(response.body)).not.toContain(token.split('.')[1]);
        await expect(AgentSocket.connect(A, token)).rejects.toThrow();
      }
    });
  });

  describe('S4: limits', () => {
    it('oversized body 413, malformed JSON 400, unknown field 400, rate limit 429 — each in the one error shape', async () => {
      const { tenant, t1 } = await tenantWithAgents();
      const { conversationId } = await assignedThread(tenant, t1);
      const huge = await api(B, t1, 'POST', `/v1/conversations/${conversationId}/notes`, { clientMessageId: 'big', text: 'x'.repeat(20_000) });
      expect(huge).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
      const malformed = await api(B, t1, 'PUT', '/v1/me/presence', '{"presence": "online"');
      expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'malformed_body' } } });
      const unknown = await api(B, t1, 'PUT', '/v1/me/presence', { presence: 'online', admin: true });
      expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
      expect((unknown.body as { error: { message: string } }).error.message).toContain('admin');
      const invalid = await api(B, t1, 'PUT', '/v1/me/presence', { presence: 'busy' });
      expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
      const badId = await api(B, t1, 'GET', '/v1/conversations/not-a-uuid');
      expect(badId).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });

      const statuses: number[] = [];
      let limited: ApiResponse | undefined;
      for (let index = 0; index < 60 && !limited; index += 1) {
        const response = await api(B, t1, 'GET', '/v1/me');
        statuses.push(response.status);
        if (response.status === 429) limited = response;
      }
      expect(limited).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
      // Limits are per caller: another agent is not affected.
      const { t1: otherCaller } = await tenantWithAgents();
      expect((await api(B, otherCaller, 'GET', '/v1/me')).status).toBe(200);
    });
  });

  it('supervisor and admin: live stats, caps and queues, reassign, queue and agent CRUD', async () => {
    const { tenant, a1, a2, t1, t2 } = await tenantWithAgents();
    const supervisor = await devToken(`${tenant}-sup`, tenant, 'supervisor');
    const admin = await devToken(`${tenant}-adm`, tenant, 'admin');

    const queue = await api(A, admin, 'PUT', '/v1/admin/queues/vip', { name: 'VIP', channels: ['sms'], asyncCap: 4 });
    expect([200, 201]).toContain(queue.status);
    expect((await api(A, admin, 'GET', '/v1/admin/queues/vip')).body).toMatchObject({ id: 'vip', name: 'VIP', asyncCap: 4 });
    const badQueue = await api(A, admin, 'PUT', '/v1/admin/queues/bad', { name: 'Bad', businessHours: { timeZone: 'Mars/Olympus', weekly: {} } });
    expect(badQueue).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });

    const capped = await api(A, supervisor, 'PUT', `/v1/supervisor/agents/${a1}/capacity`, { asyncCap: 2 });
    expect(capped.status).toBe(200);
    expect((await api(A, t1, 'GET', '/v1/me')).body).toMatchObject({ asyncCap: 2 });

    const { conversationId } = await assignedThread(tenant, t1);
    await api(A, t2, 'PUT', '/v1/me/presence', { presence: 'online' });
    const moved = await api(A, supervisor, 'POST', `/v1/supervisor/conversations/${conversationId}/reassign`, { agentId: a2 });
    expect(moved.status).toBe(200);
    const work = await api<Work>(A, t2, 'GET', '/v1/me/work');
    expect(work.body.async.items.map((item) => item.conversationId)).toContain(conversationId);

    const stats = await api<{ agents: Array<{ id: string; asyncLoad: number }> }>(A, supervisor, 'GET', '/v1/supervisor/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.agents.find((agent) => agent.id === a2)).toMatchObject({ asyncLoad: 1 });

    const stream = await firstSupervisorSnapshot(A, supervisor);
    expect(stream.agents.length).toBeGreaterThanOrEqual(2);

    const queues = await api(A, supervisor, 'PUT', `/v1/supervisor/agents/${a1}/queues`, { queueIds: ['vip'] });
    expect(queues.status).toBe(200);
    const unknownQueue = await api(A, supervisor, 'PUT', `/v1/supervisor/agents/${a1}/queues`, { queueIds: ['nope'] });
    expect(unknownQueue).toMatchObject({ status: 404, body: { error: { code: 'unknown_queue' } } });
    const inUse = await api(A, admin, 'DELETE', '/v1/admin/queues/vip');
    expect(inUse).toMatchObject({ status: 409, body: { error: { code: 'queue_in_use' } } });
  });

  it('supervisor stats count the agents the router would route to, and those with room by mode', async () => {
    const tenant = newTenant();
    const supervisor = await devToken(`${tenant}-sup`, tenant, 'supervisor');
    // `live` needs the billing skill; `msgs` needs none and caps async at 3. Offers last ten minutes.
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, required_skills, async_cap, offer_timeout_s) VALUES
         ($1, 'live', 'Live', '{webchat}', '{billing}', NULL, 600), ($1, 'msgs', 'Messages', '{sms}', '{}', 3, 600)`,
      [tenant],
    );
    // Empty queue lists serve every queue; `plain` lacks the billing skill; `away` serves msgs but is offline.
    const [billing, plain, away] = [`${tenant}-billing`, `${tenant}-plain`, `${tenant}-away`];
    await pool.query(
      `INSERT INTO agents (id, tenant_id, name, presence, skills, queue_ids, async_cap) VALUES
         ($2, $1, 'Billing', 'online', '{billing}', '{}', NULL),
         ($3, $1, 'Plain', 'online', '{}', '{}', 1),
         ($4, $1, 'Away', 'offline', '{billing}', '{msgs}', NULL)`,
      [tenant, billing, plain, away],
    );
    const stats = async () => {
      const response = await api<{ queues: Array<Record<string, unknown>>; agents: Array<Record<string, unknown>> }>(
        A, supervisor, 'GET', '/v1/supervisor/stats',
      );
      expect(response.status).toBe(200);
      const figures = (id: string) => {
        const queue = response.body.queues.find((item) => item.id === id)!;
        return { online: queue.agentsOnline, sync: queue.agentsAvailableSync, async: queue.agentsAvailableAsync };
      };
      return { live: figures('live'), msgs: figures('msgs'), agents: response.body.agents };
    };
    const routed = (channel: 'webchat' | 'sms', status: string) =>
      waitFor(async () => {
        const { rows } = await pool.query(
          `SELECT assigned_agent_id FROM conversations WHERE tenant_id = $1 AND channel = $2 AND status = $3`,
          [tenant, channel, status],
        );
        return rows[0]?.assigned_agent_id as string | undefined;
      }, `the ${channel} message ${status}`);

    const idle = await stats();
    expect({ live: idle.live, msgs: idle.msgs }).toEqual({
      live: { online: 1, sync: 1, async: 1 },
      msgs: { online: 2, sync: 2, async: 2 },
    });
    // Caps shown outside a queue are the most any queue the agent can be given work from allows. An
    // empty list serves every queue: `live` has no async cap of its own, so it allows the default 8.
    // `away` serves only msgs, which caps async at 3.
    expect(idle.agents.find((agent) => agent.id === billing)).toMatchObject({ syncCap: 1, asyncCap: 8, queueIds: [] });
    expect(idle.agents.find((agent) => agent.id === away)).toMatchObject({ syncCap: 1, asyncCap: 3, queueIds: ['msgs'] });
    // The agent's own desk shows the same caps as the supervisor does.
    const own = await api<Work>(A, await devToken(away, tenant), 'GET', '/v1/me/work');
    expect({ sync: own.body.sync.cap, async: own.body.async.cap }).toEqual({ sync: 1, async: 3 });

    // A live chat offered to the billing agent fills its sync cap, and the sync item blocks new async work.
    await broker.publish(EXCHANGES.inbound, routingKeys.inbound('webchat'), buildEnvelope({ tenantId: tenant, channel: 'webchat', customer: { address: `visitor-${randomUUID()}` } }));
    expect(await routed('webchat', 'offered')).toBe(billing);
    const onCall = await stats();
    expect({ live: onCall.live, msgs: onCall.msgs }).toEqual({
      live: { online: 1, sync: 0, async: 0 },
      msgs: { online: 2, sync: 1, async: 1 },
    });

    // A thread for the plain agent (the billing agent is blocked) fills its async cap of 1.
    await broker.publish(EXCHANGES.inbound, routingKeys.inbound('sms'), buildEnvelope({ tenantId: tenant }));
    expect(await routed('sms', 'assigned')).toBe(plain);
    expect((await stats()).msgs).toEqual({ online: 2, sync: 1, async: 0 });

    // In wrap-up an agent has no sync room.
    await pool.query(`UPDATE agents SET wrap_up_until = now() + interval '1 hour' WHERE id = $1`, [plain]);
    expect((await stats()).msgs).toEqual({ online: 2, sync: 0, async: 0 });
  });

  it('supervisor conversation list: waiting by rank then held, filters and pages match the database, never another tenant\'s', async () => {
    const { tenant, a1, t1 } = await tenantWithAgents(2);
    const supervisor = await devToken(`${tenant}-sup`, tenant, 'supervisor');
    const admin = await devToken(`${tenant}-adm`, tenant, 'admin');
    // Offers last ten minutes here, so the picture holds still while the test reads it.
    for (const [queueId, channel] of [['msgs', 'sms'], ['live', 'webchat']] as const) {
      expect((await api(A, admin, 'PUT', `/v1/admin/queues/${queueId}`, { name: queueId, channels: [channel], offerTimeoutS: 600 })).status).toBe(201);
    }
    const ids: Record<string, string> = {};
    /** A customer message; resolves when its conversation has the expected status. */
    const send = async (tenantId: string, name: string, channel: 'sms' | 'webchat', status: string, priority = 0) => {
      const customer = { address: channel === 'sms' ? uniquePhone() : `visitor-${randomUUID()}`, displayName: name };
      await broker.publish(EXCHANGES.inbound, routingKeys.inbound(channel), buildEnvelope({ tenantId, channel, customer, priority }));
      ids[name] = await waitFor(async () => {
        const { rows } = await pool.query(
          `SELECT c.id FROM conversations c JOIN customers cu ON cu.id = c.customer_id
            WHERE c.tenant_id = $1 AND cu.display_name = $2 AND c.status = $3`,
          [tenantId, name, status],
        );
        return rows[0]?.id as string | undefined;
      }, `${name} ${status}`);
    };
    // a1 holds two threads (its async cap) and is offered one live chat; the rest waits.
    await send(tenant, 'held 1', 'sms', 'assigned');
    await send(tenant, 'held 2', 'sms', 'assigned');
    await send(tenant, 'waiting p10', 'sms', 'queued', 10);
    await send(tenant, 'waiting p80', 'sms', 'queued', 80);
    await send(tenant, 'offered', 'webchat', 'offered');
    await send(tenant, 'waiting live', 'webchat', 'queued');
    const otherTenant = newTenant();
    const otherSupervisor = await devToken(`${otherTenant}-sup`, otherTenant, 'supervisor');
    const otherAdmin = await devToken(`${otherTenant}-adm`, otherTenant, 'admin');
    expect((await api(A, otherAdmin, 'PUT', '/v1/admin/queues/msgs', { name: 'msgs', channels: ['sms'] })).status).toBe(201);
    await send(otherTenant, 'other tenant', 'sms', 'queued');

    const list = async (query = '', token = supervisor) => {
      const response = await api<Listed>(A, token, 'GET', `/v1/supervisor/conversations${query}`);
      expect({ query, status: response.status }).toEqual({ query, status: 200 });
      return response.body;
    };
    const names = (page: Listed) => page.conversations.map((item) => Object.keys(ids).find((name) => ids[name] === item.id) ?? item.id);

    // Waiting first — priority 80 ahead of the earlier priority 10, both ahead of the later live chat
    // (rank_at folds priority into the wait) — then held and offered work, longest held first.
    const all = await list();
    expect(names(all)).toEqual(['waiting p80', 'waiting p10', 'waiting live', 'held 1', 'held 2', 'offered']);
    expect(all.nextCursor).toBeNull();
    const { rows: truth } = await pool.query(
      `SELECT c.id, c.channel, c.mode, c.status, c.queue_id, c.priority, c.assigned_agent_id, a.name AS agent_name,
              c.customer_id, cu.display_name, COALESCE(c.queue_entered_at, c.queued_at) AS entered,
              COALESCE(s.accepted_at, s.created_at) AS since, c.last_message_at
         FROM conversations c
         JOIN customers cu ON cu.id = c.customer_id
         LEFT JOIN agents a ON a.id = c.assigned_agent_id
         LEFT JOIN assignments s ON s.conversation_id = c.id AND s.state <> 'ended'
        WHERE c.tenant_id = $1 AND c.status <> 'closed'
        ORDER BY c.status <> 'queued', CASE WHEN c.status = 'queued' THEN c.rank_at ELSE COALESCE(s.accepted_at, s.created_at) END, c.id`,
      [tenant],
    );
    expect(all.conversations.map((item) => item.id)).toEqual(truth.map((row) => row.id));
    for (const [index, row] of truth.entries()) {
      const item = all.conversations[index];
      const waiting = row.status === 'queued';
      expect(item).toMatchObject({
        id: row.id,
        channel: row.channel,
        mode: row.mode,
        status: row.status,
        queueId: row.queue_id,
        priority: row.priority,
        assignedAgentId: row.assigned_agent_id,
        assignedAgentName: row.agent_name,
        customer: { id: row.customer_id, name: row.display_name },
        queuedAt: waiting ? row.entered.toISOString() : null,
        assignedAt: waiting ? null : row.since.toISOString(),
        lastMessageAt: row.last_message_at.toISOString(),
      });
      if (waiting) expect(Math.abs(item.waitingS! - (Date.parse(all.at) - row.entered.getTime()) / 1000)).toBeLessThanOrEqual(1);
      else expect(item.waitingS).toBeNull();
    }
    expect(all.conversations.filter((item) => item.assignedAgentId !== null).every((item) => item.assignedAgentId === a1)).toBe(true);

    // Filters, and what the desk asks for a queue row and an agent row.
    expect(names(await list('?queueId=msgs'))).toEqual(['waiting p80', 'waiting p10', 'held 1', 'held 2']);
    expect(names(await list(`?agentId=${a1}`))).toEqual(['held 1', 'held 2', 'offered']);
    expect(names(await list('?status=queued&mode=async'))).toEqual(['waiting p80', 'waiting p10']);
    expect(names(await list('?status=offered,assigned&queueId=live'))).toEqual(['offered']);
    expect(names(await list('?status=queued&status=offered&mode=sync'))).toEqual(['waiting live', 'offered']);
    expect(names(await list(`?status=queued&agentId=${a1}`))).toEqual([]);
    expect(names(await list('?status=bot'))).toEqual([]);

    // Pages: keyset cursors across the waiting/held boundary, and with a filter.
    const paged: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: Listed = await list(`?limit=2${cursor ? `&after=${cursor}` : ''}`);
      paged.push(names(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual([['waiting p80', 'waiting p10'], ['waiting live', 'held 1'], ['held 2', 'offered']]);
    const first = await list('?queueId=msgs&limit=3');
    expect(names(first)).toEqual(['waiting p80', 'waiting p10', 'held 1']);
    expect(names(await list(`?queueId=msgs&limit=3&after=${first.nextCursor}`))).toEqual(['held 2']);

    // One tenant only: each supervisor sees its own tenant's conversations, whatever the filters.
    expect(names(await list('', otherSupervisor))).toEqual(['other tenant']);
    expect(names(await list('?queueId=msgs', otherSupervisor))).toEqual(['other tenant']);
    expect(names(await list(`?agentId=${a1}`, otherSupervisor))).toEqual([]);
    expect(all.conversations.map((item) => item.id)).not.toContain(ids['other tenant']);

    // The query is validated like every other route; agents may not list.
    for (const query of ['?status=closed', '?mode=voice', '?limit=0', '?limit=201', '?queueId=my%20queue', '?tenant=other']) {
      const refused = await api(A, supervisor, 'GET', `/v1/supervisor/conversations${query}`);
      expect({ query, status: refused.status, code: (refused.body as { error?: { code: string } }).error?.code }).toEqual({
        query, status: 400, code: 'validation_failed',
      });
    }
    expect(await api(A, supervisor, 'GET', '/v1/supervisor/conversations?after=not-a-cursor')).toMatchObject({
      status: 400, body: { error: { code: 'invalid_cursor' } },
    });
    expect(await api(A, t1, 'GET', '/v1/supervisor/conversations')).toMatchObject({ status: 403, body: { error: { code: 'forbidden_role' } } });
  });
});
