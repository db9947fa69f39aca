/**
 * `npm run send -- --channel sms --from +15550001 --text "hello"`: publishes one envelope on the
 * inbound exchange exactly as another system would — plain JSON, routing key `inbound.<channel>`,
 * persistent, with publisher confirms and `mandatory` — and prints the message id.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect } from 'amqplib';
import { commonEnvSchema, loadConfigOrExit } from '@app/config';
import { EXCHANGES, HEADERS, inboundEnvelopeSchema, routingKeys, type InboundEnvelopeInput } from '@app/contracts';

const USAGE =
  'usage: npm run send -- --channel <channel> --from <address> --text <text> ' +
  '[--name <display name>] [--thread <id>] [--priority 0-100] [--tenant <id>] [--mode sync|async] [--provider-id <id>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      channel: { type: 'string', default: 'sms' },
      from: { type: 'string' },
      text: { type: 'string' },
      name: { type: 'string' },
      thread: { type: 'string' },
      priority: { type: 'string' },
      tenant: { type: 'string' },
      mode: { type: 'string' },
      'provider-id': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.from || !values.text) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfigOrExit(commonEnvSchema, 'send');
  const messageId = randomUUID();
  const input: InboundEnvelopeInput = {
    version: 1,
    messageId,
    tenantId: values.tenant,
    channel: values.channel as InboundEnvelopeInput['channel'],
    mode: values.mode as InboundEnvelopeInput['mode'],
    direction: 'inbound',
    provider: { messageId: values['provider-id'] ?? `cli-${messageId}`, threadId: values.thread },
    customer: { address: values.from, displayName: values.name },
    content: { text: values.text },
    receivedAt: new Date().toISOString(),
    priority: values.priority === undefined ? undefined : Number(values.priority),
  };
  const parsed = inboundEnvelopeSchema.safeParse(input);
  if (!parsed.success) {
    process.stderr.write(
      `send: invalid envelope: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`,
    );
    process.exit(2);
  }
  const connection = await connect(config.AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    let returned = false;
    channel.on('return', () => {
      returned = true;
    });
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        EXCHANGES.inbound,
        routingKeys.inbound(parsed.data.channel),
        Buffer.from(JSON.stringify(parsed.data)),
        {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId,
          headers: { [HEADERS.correlationId]: messageId },
        },
        (error: unknown) => (error ? reject(new Error('the broker refused the message')) : resolve()),
      );
    });
    if (returned) throw new Error('no queue is bound to the inbound exchange: is the router running (npm start)?');
    process.stdout.write(`${JSON.stringify({ messageId, channel: parsed.data.channel })}\n`);
  } finally {
    await connection.close();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`send: ${error.message}\n`);
  process.exit(1);
});
