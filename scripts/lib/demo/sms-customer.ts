/**
 * An SMS customer as Twilio delivers them: a form-encoded webhook to the SMS adapter, signed with
 * the channel kit's own `twilioSignature` over the adapter's public URL.
 */
import { randomBytes } from 'node:crypto';
import { twilioSignature } from '@app/channel-kit';
import type { SmsEndpoint } from './demo-endpoints';
import { postWebhook, type SignedWebhook } from './signed-webhook';

export interface SmsMessage {
  /** The customer's number, E.164. */
  from: string;
  text: string;
  /** Twilio's message id (SM + 32 hex digits); a fresh one when left out. Resending one is a duplicate. */
  messageSid?: string;
}

const PATH = '/twilio/sms';

export function smsWebhook(endpoint: SmsEndpoint, message: SmsMessage): SignedWebhook {
  const messageSid = message.messageSid ?? `SM${randomBytes(16).toString('hex')}`;
  const params = new URLSearchParams({
    ApiVersion: '2010-04-01',
    AccountSid: endpoint.accountSid,
    MessageSid: messageSid,
    SmsSid: messageSid,
    SmsMessageSid: messageSid,
    From: message.from,
    To: endpoint.businessNumber,
    Body: message.text,
    NumMedia: '0',
    NumSegments: '1',
  });
  const signedUrl = `${endpoint.publicUrl.replace(/\/$/, '')}${PATH}`;
  return {
    url: `${endpoint.url.replace(/\/$/, '')}${PATH}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(endpoint.authToken, signedUrl, params),
    },
    body: params.toString(),
  };
}

/** Resolves once the adapter accepted the message (it answers after the broker confirmed it). */
export async function sendSms(endpoint: SmsEndpoint, message: SmsMessage): Promise<{ messageSid: string }> {
  const webhook = smsWebhook(endpoint, message);
  await postWebhook(webhook, 'SMS webhook');
  return { messageSid: new URLSearchParams(webhook.body).get('MessageSid')! };
}
