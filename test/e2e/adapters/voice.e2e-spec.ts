/**
 * The voice adapter (Twilio Voice + generic call events) as a process beside the router, against
 * real RabbitMQ and Postgres: a signed incoming call becomes a sync work item and is greeted and
 * held; bad signatures publish nothing (S1); an accepted offer makes the adapter redirect the live
 * call to the agent through a local Twilio that verifies the update; status callbacks end the item
 * (abandoned while queued, closed with the agent freed once answered), duplicates are harmless; a
 * queue that gives up on a call offers voicemail, which continues the same conversation; the
 * generic call-events endpoint is signed and opens and ends calls the same way.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import {
  adapterHarness,
  expectClearRefusal,
  FakeTwilioVoice,
  postTwilioWebhook,
  seedAgents,
  twilioSignature,
  uniquePhone,
  waitFor,
  type WebhookOptions,
} from '@app/testing';

const ACCOUNT = `AC${randomBytes(16).toString('hex')}`;
const TOKEN = randomBytes(16).toString('hex');
const CALL_EVENTS_SECRET = randomBytes(24).toString('hex');
const PUBLIC_BASE = 'https://hooks.example.com/voice-gw';
const TO = '+15005550006';
const TENANT = `voice-${randomBytes(4).toString('hex')}`;
const AGENT = `${TENANT}-a1`;

const callSid = () => `CA${randomBytes(16).toString('hex')}`;

describe('voice adapter (process)', () => {
  const harness = adapterHarness({
    app: 'adapters/voice',
    provider: () => FakeTwilioVoice.start(ACCOUNT, TOKEN),
    env: (twilio) => ({
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_API_BASE_URL: twilio.url,
      PUBLIC_BASE_URL: PUBLIC_BASE,
      CALL_EVENTS_SECRET,
      VOICE_HOLD_S: '7',
      TENANT_ID: TENANT,
    }),
  });
  const { pool } = harness;

  /** What Twilio POSTs to one of the voice webhooks, signed over the public URL as Twilio sees it. */
  const twilioPost = (path: string, params: Record<string, string>, options: WebhookOptions & { token?: string } = {}) =>
    postTwilioWebhook(`${harness.base}${path}`, `${PUBLIC_BASE}${path}`, params, options.token ?? TOKEN, options);

  const callParams = (sid: string, from: string, overrides: Record<string, string> = {}) => ({
    CallSid: sid,
    AccountSid: ACCOUNT,
    From: from,
    To: TO,
    Direction: 'inbound',
    CallStatus: 'ringing',
    CallerName: 'Ada Caller',
    ...overrides,
  });

  const status = (sid: string, from: string, callStatus: string, sequence: string) =>
    twilioPost('/twilio/voice/status', callParams(sid, from, { CallStatus: callStatus, SequenceNumber: sequence, CallDuration: '42', Timestamp: new Date().toUTCString() }));

  const conversationOf = async (sid: string) =>
    (await pool.query(`SELECT id, status, mode, assigned_agent_id FROM conversations WHERE tenant_id = $1 AND thread_key = $2`, [TENANT, sid])).rows;

  /** Signs a generic call event the way docs/call-events.md tells integrators to. */
  function callEvent(body: unknown, options: { secret?: string; timestamp?: number; signature?: string | null; rawBody?: string } = {}) {
    const raw = options.rawBody ?? JSON.stringify(body);
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    const signature = `sha256=${createHmac('sha256', options.secret ?? CALL_EVENTS_SECRET).update(`${timestamp}.${raw}`).digest('hex')}`;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-call-timestamp': timestamp };
    if (options.signature !== null) headers['x-call-signature'] = options.signature ?? signature;
    return fetch(`${harness.base}/calls/events`, { method: 'POST', headers, body: options.rawBody === undefined ? raw : options.rawBody });
  }

  it('S1: tampered byte, wrong secret, missing header, wrong length, other account → 401/403 with a clear body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('voice'));
    const commands = await harness.broker.collect(EXCHANGES.commands, routingKeys.command('conversation.end'));
    const sid = callSid();
    const params = callParams(sid, uniquePhone());
    const body = new URLSearchParams(params).toString();
    const ended = callParams(sid, params.From, { CallStatus: 'completed', SequenceNumber: '3' });
    const cases: Array<[string, Response, number]> = [
      ['tampered byte', await twilioPost('/twilio/voice/incoming', params, { body: body.replace('Ada', 'Adb') }), 403],
      ['wrong secret', await twilioPost('/twilio/voice/incoming', params, { token: 'not-the-token-at-all' }), 403],
      ['missing header', await twilioPost('/twilio/voice/incoming', params, { signature: null }), 401],
      ['wrong length', await twilioPost('/twilio/voice/incoming', params, { signature: 'c2hvcnQ=' }), 403],
      ['other account', await twilioPost('/twilio/voice/incoming', { ...params, AccountSid: `AC${randomBytes(16).toString('hex')}` }), 403],
      ['status, wrong secret', await twilioPost('/twilio/voice/status', ended, { token: 'not-the-token-at-all' }), 403],
      ['status, missing header', await twilioPost('/twilio/voice/status', ended, { signature: null }), 401],
      ['voicemail, tampered', await twilioPost('/twilio/voice/voicemail', ended, { body: new URLSearchParams(ended).toString().replace('completed', 'completeD') }), 403],
      ['wait, signed for another path', await twilioPost('/twilio/voice/wait', params, { signature: twilioSignature(`${PUBLIC_BASE}/twilio/voice/incoming`, params, TOKEN) }), 403],
    ];
    for (const [name, response, expected] of cases) await expectClearRefusal(name, response, expected);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
    expect(commands.items).toEqual([]);
  });

  it('a signed incoming call becomes a sync envelope and greeting TwiML; the wait loop tells the place; hanging up while queued is recorded as abandoned', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('voice'));
    const sid = callSid();
    const from = uniquePhone();
    const response = await twilioPost('/twilio/voice/incoming', callParams(sid, from));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/xml');
    const twiml = await response.text();
    expect(twiml).toContain('<Say>Thank you for calling.');
    expect(twiml).toContain(`<Redirect method="POST">${PUBLIC_BASE}/twilio/voice/wait</Redirect>`);
    const [published] = await envelopes.waitForCount(1, 'the call envelope');
    expect(published.body).toMatchObject({
      channel: 'voice',
      mode: 'sync',
      tenantId: TENANT,
      provider: { messageId: sid, threadId: sid, accountId: TO },
      customer: { address: from, displayName: 'Ada Caller' },
      content: { text: 'Incoming call' },
      attributes: { to: TO },
    });

    const [queued] = await waitFor(async () => {
      const rows = await conversationOf(sid);
      return rows[0]?.status === 'queued' ? rows : undefined;
    }, 'the call queued (nobody online)');
    const wait = await twilioPost('/twilio/voice/wait', callParams(sid, from, { CallStatus: 'in-progress' }));
    expect(wait.status).toBe(200);
    const waitTwiml = await wait.text();
    expect(waitTwiml).toMatch(/<Say>(You are next in line\.|You are number \d+ in the queue\.)<\/Say><Pause length="7"\/><Redirect/);

    expect((await status(sid, from, 'completed', '3')).status).toBe(200);
    await waitFor(async () => (await conversationOf(sid))[0]?.status === 'closed', 'the abandoned call closed');
    const audit = await pool.query(`SELECT action, to_status, details FROM assignment_audit WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1`, [queued.id]);
    expect(audit.rows[0]).toMatchObject({ action: 'abandon', to_status: 'closed', details: { reason: 'completed', by: 'voice' } });
    const left = await pool.query(`SELECT count(*)::int AS n FROM conversations WHERE tenant_id = $1 AND status = 'queued' AND mode = 'sync'`, [TENANT]);
    expect(left.rows[0].n).toBe(0);
    const hangup = await twilioPost('/twilio/voice/wait', callParams(sid, from, { CallStatus: 'in-progress' }));
    expect(await hangup.text()).toContain('<Hangup/>');
  });

  it('the agent accepts → the live call dials their client; completed → closed and the agent freed; duplicate callbacks are harmless', async () => {
    await seedAgents(pool, [{ id: AGENT, tenantId: TENANT, presence: 'online', syncCap: 1 }]);
    const offers = await harness.broker.collect(EXCHANGES.agent, routingKeys.agent(AGENT, 'offer'));
    const commands = await harness.broker.collect(EXCHANGES.commands, routingKeys.command('conversation.end'));
    const sid = callSid();
    const from = uniquePhone();
    expect((await twilioPost('/twilio/voice/incoming', callParams(sid, from))).status).toBe(200);
    const [offer] = await offers.waitForCount(1, 'the offer to the agent');
    const conversationId = (offer.body as { conversationId: string }).conversationId;
    expect(offer.body).toMatchObject({ channel: 'voice', mode: 'sync' });
    expect(harness.provider.updatesFor(sid)).toEqual([]);

    harness.provider.script.push({ status: 503 });
    await harness.broker.publish(EXCHANGES.commands, routingKeys.command('offer.accept'), {
      commandId: randomUUID(),
      tenantId: TENANT,
      agentId: AGENT,
      type: 'offer.accept',
      conversationId,
    });
    const connected = await waitFor(() => harness.provider.updatesFor(sid).find((update) => update.answered === 200), 'the call update that dials the agent');
    expect(harness.provider.updatesFor(sid).map((update) => update.answered)).toEqual([503, 200]);
    expect(connected.twiml).toContain(`<Dial><Client>${AGENT}</Client></Dial>`);
    expect((await pool.query(`SELECT active_sync FROM agents WHERE id = $1`, [AGENT])).rows[0].active_sync).toBe(1);

    for (const callStatus of ['in-progress', 'completed', 'completed']) {
      expect((await status(sid, from, callStatus, callStatus === 'completed' ? '4' : '2')).status).toBe(200);
    }
    await waitFor(async () => (await conversationOf(sid))[0]?.status === 'closed', 'the answered call closed');
    await waitFor(async () => (await pool.query(`SELECT active_sync FROM agents WHERE id = $1`, [AGENT])).rows[0].active_sync === 0, 'the agent freed');
    // A late duplicate with another sequence number: one more command, which finds nothing open.
    expect((await status(sid, from, 'completed', '5')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(commands.items.map((item) => (item.body as { reason: string }).reason)).toEqual(['completed', 'completed']);
    expect(new Set(commands.items.map((item) => (item.body as { commandId: string }).commandId)).size).toBe(2);
    const rows = await conversationOf(sid);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'closed', assigned_agent_id: null });
    expect(harness.provider.updatesFor(sid)).toHaveLength(2);
  });

  it('the queue gives up on a call → voicemail is offered; the recording continues the same conversation, which outlives the call', async () => {
    await seedAgents(pool, [{ id: AGENT, tenantId: TENANT, presence: 'offline', syncCap: 1 }]);
    await pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, max_wait_s, downgrade_to_async) VALUES ($1, 'calls', 'Calls', '{voice}', 1, true)
       ON CONFLICT (tenant_id, id) DO UPDATE SET max_wait_s = 1, downgrade_to_async = true`,
      [TENANT],
    );
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('voice'));
    const sid = callSid();
    const from = uniquePhone();
    expect((await twilioPost('/twilio/voice/incoming', callParams(sid, from))).status).toBe(200);
    const update = await waitFor(() => harness.provider.updatesFor(sid)[0], 'the voicemail update', 30_000);
    expect(update.twiml).toContain(`<Record action="${PUBLIC_BASE}/twilio/voice/voicemail" method="POST" maxLength="120"`);
    const [conversation] = await conversationOf(sid);
    expect(conversation).toMatchObject({ status: 'queued', mode: 'async' });

    const recordingSid = `RE${randomBytes(16).toString('hex')}`;
    const recordingUrl = `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Recordings/${recordingSid}`;
    const recorded = await twilioPost(
      '/twilio/voice/voicemail',
      callParams(sid, from, { CallStatus: 'completed', RecordingSid: recordingSid, RecordingUrl: recordingUrl, RecordingDuration: '17' }),
    );
    expect(recorded.status).toBe(200);
    expect(await recorded.text()).toContain('<Hangup/>');
    const voicemail = await waitFor(() => envelopes.items.find((item) => (item.body as { provider: { messageId: string } }).provider.messageId === recordingSid), 'the voicemail envelope');
    expect(voicemail.body).toMatchObject({
      mode: 'async',
      provider: { threadId: sid },
      customer: { address: from },
      content: { text: 'Voicemail (17 s)', attachments: [{ contentType: 'audio/wav', url: recordingUrl, providerId: recordingSid }] },
    });
    await waitFor(async () => {
      const { rows } = await pool.query(`SELECT conversation_id FROM messages WHERE provider_message_id = $1`, [recordingSid]);
      return rows[0]?.conversation_id === conversation.id;
    }, 'the voicemail stored in the call\'s conversation');

    expect((await status(sid, from, 'completed', '6')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await conversationOf(sid))[0]).toMatchObject({ id: conversation.id, status: 'queued', mode: 'async' });
    await pool.query(`DELETE FROM queues WHERE tenant_id = $1 AND id = 'calls'`, [TENANT]).catch(() => undefined);
  });

  it('generic call events: signed started/answered/ended route a PBX call like a Twilio one; unsigned, wrong secret, stale and tampered are refused', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('voice'));
    const callId = `pbx-${randomUUID()}`;
    const from = uniquePhone();
    const started = { event: 'started', callId, from, displayName: 'Grace PBX' };
    const refusals: Array<[string, Response, number]> = [
      ['unsigned', await callEvent(started, { signature: null }), 401],
      ['wrong secret', await callEvent(started, { secret: 'another-secret-entirely' }), 403],
      ['stale', await callEvent(started, { timestamp: Math.floor(Date.now() / 1000) - 301 }), 401],
      ['tampered', await callEvent(started, { signature: `sha256=${'0'.repeat(64)}` }), 403],
    ];
    for (const [name, response, expected] of refusals) {
      expect({ name, status: response.status }).toEqual({ name, status: expected });
      expect(((await response.json()) as { error: { message: string } }).error.message.length).toBeGreaterThan(10);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(envelopes.items).toEqual([]);

    expect((await callEvent(started)).status).toBe(200);
    const [published] = await envelopes.waitForCount(1, 'the PBX call envelope');
    expect(published.body).toMatchObject({
      channel: 'voice',
      mode: 'sync',
      provider: { messageId: `${callId}:started`, threadId: callId },
      customer: { address: from, displayName: 'Grace PBX' },
    });
    await waitFor(async () => (await conversationOf(callId))[0]?.status === 'queued', 'the PBX call queued');
    expect((await callEvent({ event: 'answered', callId, from })).status).toBe(200);
    expect((await callEvent({ event: 'ended', callId, from, reason: 'completed' })).status).toBe(200);
    await waitFor(async () => (await conversationOf(callId))[0]?.status === 'closed', 'the PBX call closed');
    expect((await callEvent({ event: 'ended', callId, from })).status).toBe(200);
    expect((await callEvent({ event: 'ringing', callId, from })).status).toBe(400);
  });
});
