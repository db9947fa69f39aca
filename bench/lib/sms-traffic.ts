/**
 * What Twilio would send: form-encoded inbound SMS webhooks, signed with X-Twilio-Signature over the
 * public URL and the sorted parameters (written from Twilio's documentation, not the adapter's code),
 * POSTed over keep-alive connections. Mixed traffic: a message either opens a conversation from a new
 * number or follows up from a number whose first message has already reached an agent (a follow-up on
 * a thread still being routed would be stored but, by design, not announced to anyone yet).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { twilioSignature } from '@app/channel-kit';

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
  to: string;
  /** The URL Twilio signs: PUBLIC_BASE_URL + /twilio/sms. */
  publicUrl: string;
}

export function newTwilioAccount(publicBaseUrl: string): TwilioAccount {
  return {
    accountSid: `AC${randomBytes(16).toString('hex')}`,
    authToken: randomBytes(16).toString('hex'),
    to: '+15005550006',
    publicUrl: `${publicBaseUrl.replace(/\/$/, '')}/twilio/sms`,
  };
}

export interface OutgoingSms {
  sid: string;
  from: string;
  followUp: boolean;
}

const BODIES = [
  'Hi, where is my parcel? Order 48213',
  'I was charged twice for the same order, can you help?',
  'Thanks, that works for me',
  'Can I change the delivery address to my office?',
];

/** Unique ids and numbers per run; follow-ups reuse numbers that already have an agent. */
export class SmsTraffic {
  private readonly prefix = randomBytes(4).toString('hex');
  private sequence = 0;
  private numbers = 0;
  private readonly established: string[] = [];

  constructor(
    private readonly followUpShare: number,
    private readonly random: () => number,
  ) {}

  next(): OutgoingSms {
    this.sequence += 1;
    const sid = `SM${this.prefix}${this.sequence.toString(16).padStart(24, '0')}`;
    if (this.established.length > 0 && this.random() < this.followUpShare) {
      const from = this.established[Math.floor(this.random() * this.established.length)];
      return { sid, from, followUp: true };
    }
    this.numbers += 1;
    return { sid, from: `+1${2_000_000_000 + this.numbers}`, followUp: false };
  }

  /** The number's conversation reached an agent: it may now send follow-ups. */
  establish(from: string): void {
    this.established.push(from);
  }

  get newNumbers(): number {
    return this.numbers;
  }
}

export class WebhookClient {
  private readonly agent: Agent;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly account: TwilioAccount,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Connection errors by code, over the run (each was retried, as Twilio retries a failed webhook). */
  readonly connectionErrors = new Map<string, number>();

  /**
   * Resolves with the HTTP status once the adapter has answered (after its publish was confirmed).
   * A connection error (e.g. a keep-alive socket the server closed as it was reused) is retried up to
   * three times with the same MessageSid, as Twilio would; the adapter and the router dedupe on it.
   */
  async send(sms: OutgoingSms): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.sendOnce(sms);
      if (typeof outcome === 'number') return outcome;
      this.connectionErrors.set(outcome.error, (this.connectionErrors.get(outcome.error) ?? 0) + 1);
      if (attempt >= 4) return 0;
    }
  }

  private sendOnce(sms: OutgoingSms): Promise<number | { error: string }> {
    const params: Record<string, string> = {
      MessageSid: sms.sid,
      SmsSid: sms.sid,
      AccountSid: this.account.accountSid,
      From: sms.from,
      To: this.account.to,
      Body: BODIES[sms.sid.charCodeAt(sms.sid.length - 1) % BODIES.length],
      NumMedia: '0',
      NumSegments: '1',
      SmsStatus: 'received',
      ApiVersion: '2010-04-01',
    };
    const body = Buffer.from(new URLSearchParams(params).toString());
    const signature = twilioSignature(this.account.authToken, this.account.publicUrl, new URLSearchParams(params));
    return new Promise((resolve) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: '/twilio/sms',
          agent: this.agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': body.length,
            'x-twilio-signature': signature,
          },
        },
        (response) => {
          response.resume();
          response.once('end', () => resolve(response.statusCode ?? 0));
          response.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
        },
      );
      req.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
