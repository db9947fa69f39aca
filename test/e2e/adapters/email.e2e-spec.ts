/**
 * The email adapter as a process beside the router, against real RabbitMQ and Postgres: email sent
 * to its SMTP port becomes an envelope and is answered 250 after the publish, a customer's answer
 * to our reply lands in the same conversation, duplicates are stored once, oversized mail gets 552;
 * Mailgun's signed route is checked (S1, 406 without retry); replies go to a local SMTP relay with
 * our threading headers (retried on 451, failed on 550, never sent twice); kill -9 under retrying
 * SMTP load loses nothing (R1).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createTransport } from 'nodemailer';
import { EXCHANGES, routingKeys } from '@app/contracts';
import { adapterHarness, agentReplyPayload, expectClearRefusal, expectStoredOnce, FakeSmtp, freePort, statusesFor, waitFor, waitForStatus } from '@app/testing';

const DOMAIN = 'support.example.com';
const SIGNING_KEY = `key-${randomBytes(16).toString('hex')}`;
const MAX_BYTES = 100_000;

const customer = () => `customer.${randomBytes(4).toString('hex')}@mail.example`;
const messageId = () => `${randomUUID()}@mail.example`;

type Envelope = { provider: { messageId: string; threadId: string }; customer: { address: string } };

describe('email adapter (process)', () => {
  let smtpPort: number;
  const harness = adapterHarness({
    app: 'adapters/email',
    provider: () => FakeSmtp.start(),
    env: async (relay) => {
      smtpPort = await freePort();
      return {
        SMTP_LISTEN_PORT: String(smtpPort),
        SMTP_LISTEN_HOST: '127.0.0.1',
        EMAIL_MAX_BYTES: String(MAX_BYTES),
        EMAIL_DOMAIN: DOMAIN,
        EMAIL_FROM: `Support <support@${DOMAIN}>`,
        SMTP_OUT_URL: relay.url(),
        MAILGUN_SIGNING_KEY: SIGNING_KEY,
      };
    },
  });
  const { pool } = harness;

  const sender = () => {
    const transport = createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
    // A connection reset while the adapter is killed surfaces as the sendMail rejection; the late event is noise.
    transport.on('error', () => undefined);
    return transport;
  };

  interface Mail {
    from?: string;
    messageId?: string;
    inReplyTo?: string;
    references?: string[];
    text?: string;
    subject?: string;
  }

  function send(mail: Mail) {
    return sender().sendMail({
      from: mail.from ?? `Ada Customer <${customer()}>`,
      to: `support@${DOMAIN}`,
      subject: mail.subject ?? 'My parcel',
      text: mail.text ?? 'Where is my parcel?',
      ...(mail.messageId ? { messageId: `<${mail.messageId}>` } : {}),
      ...(mail.inReplyTo ? { inReplyTo: `<${mail.inReplyTo}>` } : {}),
      ...(mail.references ? { references: mail.references.map((id) => `<${id}>`) } : {}),
    });
  }

  const stored = (providerId: string) =>
    waitFor(async () => {
      const { rows } = await pool.query(
        `SELECT m.conversation_id, c.thread_key FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.provider_message_id = $1`,
        [providerId],
      );
      return rows[0] as { conversation_id: string; thread_key: string } | undefined;
    }, `message ${providerId} stored`);

  const agentReply = (conversationId: string, to: { address: string; threadId?: string; inReplyTo?: string }, text: string) =>
    agentReplyPayload('email', { conversationId, to, text });

  it('an email to the SMTP port becomes the expected envelope, answered 250 after the publish', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('email'));
    const id = messageId();
    const from = customer();
    const info = await sender().sendMail({
      from: `Ada Customer <${from.toUpperCase()}>`,
      to: `support@${DOMAIN}`,
      subject: 'My parcel',
      text: 'Where is my parcel?',
      messageId: `<${id}>`,
      attachments: [{ filename: 'receipt.pdf', content: Buffer.alloc(1234, 1), contentType: 'application/pdf' }],
    });
    expect(info.response).toMatch(/^250/);
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    expect(published!.body).toMatchObject({
      version: 1,
      channel: 'email',
      direction: 'inbound',
      tenantId: 'default',
      provider: { messageId: id, threadId: `msg:${id}`, accountId: `support@${DOMAIN}` },
      customer: { address: from, displayName: 'Ada Customer' },
      content: { text: 'Where is my parcel?', attachments: [{ contentType: 'application/pdf', size: 1234, filename: 'receipt.pdf' }] },
      attributes: { subject: 'My parcel' },
    });
    expect(JSON.stringify(published!.body)).not.toContain(Buffer.alloc(16, 1).toString('base64'));
  });

  it("a customer's answer to our reply lands in the same conversation (In-Reply-To naming our email, or References)", async () => {
    const from = customer();
    const first = messageId();
    await send({ from, messageId: first });
    const conversation = await stored(first);
    expect(conversation.thread_key).toBe(`msg:${first}`);

    const reply = agentReply(conversation.conversation_id, { address: from, threadId: conversation.thread_key, inReplyTo: first }, 'It ships today.');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('email'), reply);
    const ours = await waitFor(() => harness.provider.messages.find((mail) => mail.text?.includes('It ships today.')), 'our reply at the relay');

    const answer = messageId();
    await send({ from, messageId: answer, inReplyTo: ours.messageId!.replace(/^<|>$/g, ''), subject: 'Re: Your conversation with us' });
    expect((await stored(answer)).conversation_id).toBe(conversation.conversation_id);

    const second = messageId();
    await send({ from, messageId: second, inReplyTo: answer, references: [first, ours.messageId!.replace(/^<|>$/g, ''), answer] });
    expect((await stored(second)).conversation_id).toBe(conversation.conversation_id);
  });

  it('the same Message-ID sent three times is stored once', async () => {
    const id = messageId();
    const from = customer();
    for (let index = 0; index < 3; index += 1) expect((await send({ from, messageId: id })).response).toMatch(/^250/);
    await expectStoredOnce(pool, id);
  });

  it('an oversized email is refused with 552 and nothing is published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('email'));
    const error = (await send({ messageId: messageId(), text: 'x'.repeat(MAX_BYTES + 10_000) }).catch((caught: unknown) => caught)) as {
      responseCode?: number;
    };
    expect(error.responseCode).toBe(552);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  /** What Mailgun POSTs for a route, signed as its documentation describes. */
  function mailgunFields(overrides: Record<string, string> = {}, key = SIGNING_KEY): Record<string, string> {
    const timestamp = overrides.timestamp ?? String(Math.floor(Date.now() / 1000));
    const token = overrides.token ?? randomBytes(25).toString('hex');
    const id = messageId();
    return {
      recipient: `support@${DOMAIN}`,
      sender: 'bounce@mail.example',
      from: `Grace Customer <${customer()}>`,
      subject: 'Invoice question',
      'body-plain': 'Hello, my invoice is wrong.\n\n> quoted',
      'stripped-text': 'Hello, my invoice is wrong.',
      'message-headers': JSON.stringify([
        ['Message-Id', `<${id}>`],
        ['Subject', 'Invoice question'],
      ]),
      timestamp,
      token,
      signature: createHmac('sha256', key).update(timestamp + token).digest('hex'),
      ...overrides,
    };
  }

  const mailgun = (fields: Record<string, string>, multipart = false) => {
    const url = `${harness.base}/mailgun/messages`;
    if (!multipart) {
      return fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    }
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('attachment-1', new Blob([Buffer.alloc(321)], { type: 'image/png' }), 'photo.png');
    return fetch(url, { method: 'POST', body: form });
  };

  it('Mailgun: a signed route (urlencoded or multipart) becomes an envelope; an exact retry is stored once', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('email'));
    const plain = mailgunFields();
    expect((await mailgun(plain)).status).toBe(200);
    expect((await mailgun(plain)).status).toBe(200);
    const multipart = mailgunFields();
    expect((await mailgun(multipart, true)).status).toBe(200);
    await envelopes.waitForCount(2, 'the envelopes');
    const plainId = JSON.parse(plain['message-headers']!)[0][1].replace(/^<|>$/g, '') as string;
    const byId = (id: string) => envelopes.items.find((item) => (item.body as Envelope).provider.messageId === id)?.body;
    expect(byId(plainId)).toMatchObject({
      provider: { messageId: plainId, threadId: `msg:${plainId}` },
      customer: { displayName: 'Grace Customer' },
      content: { text: 'Hello, my invoice is wrong.\n\n> quoted' },
      attributes: { subject: 'Invoice question' },
    });
    const multipartId = JSON.parse(multipart['message-headers']!)[0][1].replace(/^<|>$/g, '') as string;
    expect(byId(multipartId)).toMatchObject({ content: { attachments: [{ contentType: 'image/png', size: 321, filename: 'photo.png' }] } });
    await stored(plainId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE provider_message_id = $1`, [plainId]);
    expect(rows[0].n).toBe(1);
  });

  it('S1 Mailgun: tampered byte, wrong key, missing signature, stale timestamp, reused token → 406 with a clear body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('email'));
    const good = mailgunFields();
    const flip = (hex: string) => (hex[0] === 'a' ? 'b' : 'a') + hex.slice(1);
    const { signature: _signature, ...unsigned } = mailgunFields();
    const used = mailgunFields();
    expect((await mailgun(used)).status).toBe(200);
    await envelopes.waitForCount(1, 'the first use of the token');
    const cases: Array<[string, Record<string, string>, string]> = [
      ['tampered signature byte', { ...good, signature: flip(good.signature!) }, 'bad_signature'],
      ['tampered token byte', { ...good, token: flip(good.token!) }, 'bad_signature'],
      ['wrong key', mailgunFields({}, 'key-not-the-signing-key'), 'bad_signature'],
      ['missing signature', unsigned, 'missing_signature'],
      ['wrong length', { ...good, signature: good.signature!.slice(0, 20) }, 'bad_signature'],
      ['stale timestamp', mailgunFields({ timestamp: String(Math.floor(Date.now() / 1000) - 3600) }), 'stale_timestamp'],
      ['reused token, another message', { ...mailgunFields({ token: used.token!, timestamp: used.timestamp! }) }, 'token_reused'],
    ];
    for (const [name, fields, code] of cases) {
      const { error } = await expectClearRefusal(name, await mailgun(fields), 406);
      expect({ name, code: error.code }).toEqual({ name, code });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toHaveLength(1);
  });

  it('outbound: our Message-ID, In-Reply-To, Reply-To; a 451 is retried, a 550 fails with the reason, a redelivery is not sent twice', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('email'));
    const conversationId = randomUUID();
    const to = customer();
    harness.provider.script.push({ code: 451, message: 'Try again later' });
    const reply = agentReply(conversationId, { address: to, threadId: 'msg:first@mail.example', inReplyTo: 'first@mail.example' }, 'retried once');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('email'), reply);
    const sent = await waitForStatus(statuses, reply.messageId, 'sent status');
    const mails = harness.provider.messages.filter((mail) => mail.text?.includes('retried once'));
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.messageId).toMatch(new RegExp(`^<reply\\.${reply.messageId}\\.${conversationId}\\.[A-Za-z0-9_-]+@${DOMAIN.replace(/\./g, '\\.')}>$`));
    expect(mail).toMatchObject({
      envelopeTo: [to],
      inReplyTo: '<first@mail.example>',
      references: '<first@mail.example>',
      replyTo: `support+${conversationId}@${DOMAIN}`,
      subject: `Your conversation with us [#${conversationId.slice(0, 8)}]`,
    });
    expect(sent).toMatchObject({ status: 'sent', channel: 'email', providerMessageId: mail.messageId!.replace(/^<|>$/g, '') });

    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('email'), reply);
    await waitFor(() => statusesFor(statuses, reply.messageId).length === 2, 'the redelivery acknowledged');
    expect(harness.provider.messages.filter((item) => item.text?.includes('retried once'))).toHaveLength(1);

    harness.provider.script.push({ code: 550, message: 'No such user here' });
    const refused = agentReply(randomUUID(), { address: 'nobody@mail.example' }, 'to a missing mailbox');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('email'), refused);
    const failed = await waitForStatus(statuses, refused.messageId, 'failed status');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringContaining('No such user here') });
    expect(harness.provider.messages.filter((item) => item.text?.includes('to a missing mailbox'))).toHaveLength(0);
  });

  it('R1: kill -9 during SMTP delivery whose sender retries on 4xx and connection errors → 0 lost, stored = distinct Message-IDs', async () => {
    const total = Number(process.env.R1_REQUESTS ?? 200);
    const ids = Array.from({ length: total }, () => messageId());
    const from = customer();
    let next = 0;
    let killed = false;
    const deliver = async (id: string) => {
      for (;;) {
        const transport = sender();
        try {
          await transport.sendMail({ from, to: `support@${DOMAIN}`, subject: 'r1', text: 'r1', messageId: `<${id}>` });
          return;
        } catch (error) {
          const code = (error as { responseCode?: number }).responseCode;
          if (code !== undefined && code >= 500) throw error;
        } finally {
          transport.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const restart = (async () => {
      await waitFor(() => next >= total / 3, 'a third sent', 60_000);
      await harness.kill9AndRestart();
      killed = true;
    })();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < total) await deliver(ids[next++]!);
      }),
    );
    await restart;
    expect(killed).toBe(true);
    const counted = await waitFor(async () => {
      const { rows } = await pool.query(
        `SELECT count(DISTINCT provider_message_id)::int AS n, count(*)::int AS total FROM messages WHERE provider_message_id = ANY ($1)`,
        [ids],
      );
      return rows[0].n === total ? rows[0] : undefined;
    }, 'every message stored', 60_000);
    expect(counted).toEqual({ n: total, total });
  });
});
