/**
 * A local stand-in for the Graph API's send endpoints (WhatsApp Cloud API and the Messenger Send
 * API) that checks requests the way Meta does — the Bearer token, the sender id in the path, the
 * JSON body's shape — refuses with Meta's error object, and answers with scripted statuses so tests
 * see retries and refusals as the adapter would.
 */
import { randomBytes } from 'node:crypto';
import { FakeHttpProvider, parseJson, retryAfterHeader, type ProviderRequest, type Reply } from './fake-http-provider';

export type MetaProduct = 'whatsapp' | 'messenger';

export interface MetaCall {
  version: string;
  to: string;
  text: string;
  body: Record<string, unknown>;
  answered: number;
}

export interface MetaErrorBody {
  message: string;
  type?: string;
  code: number;
  error_subcode?: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text message a product accepts, or the reason Meta would give for refusing it. */
function readMessage(product: MetaProduct, body: Json): { to: string; text: string } | string {
  if (product === 'whatsapp') {
    if (body.messaging_product !== 'whatsapp') return '(#100) The parameter messaging_product is required.';
    if (typeof body.to !== 'string' || !body.to) return '(#100) The parameter to is required.';
    if (body.type !== 'text') return '(#100) Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}';
    const text = isObject(body.text) ? body.text.body : undefined;
    if (typeof text !== 'string' || !text) return '(#100) The parameter text[body] is required.';
    return { to: body.to, text };
  }
  const to = isObject(body.recipient) ? body.recipient.id : undefined;
  if (typeof to !== 'string' || !to) return '(#100) The parameter recipient is required';
  if (!['RESPONSE', 'UPDATE', 'MESSAGE_TAG'].includes(body.messaging_type as string)) return '(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}';
  const text = isObject(body.message) ? body.message.text : undefined;
  if (typeof text !== 'string' || !text) return '(#100) The parameter message[text] is required';
  return { to, text };
}

/** Scripted answers for accepted requests: when empty, 200 with a new message id. */
export class FakeMeta extends FakeHttpProvider<{ status: number; error?: MetaErrorBody; retryAfterS?: number }> {
  readonly calls: MetaCall[] = [];

  private constructor(
    private readonly product: MetaProduct,
    /** The WhatsApp phone number id or the Page id the token may send from. */
    private readonly senderId: string,
    private readonly accessToken: string,
  ) {
    super();
  }

  static start(product: MetaProduct, senderId: string, accessToken: string): Promise<FakeMeta> {
    return new FakeMeta(product, senderId, accessToken).listen();
  }

  protected handle(request: ProviderRequest, reply: Reply): void {
    const refuse = (status: number, error: MetaErrorBody, headers: Record<string, string> = {}) =>
      reply(status, { error: { type: 'OAuthException', fbtrace_id: randomBytes(8).toString('base64url'), ...error } }, headers);

    if (request.headers.authorization !== `Bearer ${this.accessToken}`) {
      return refuse(401, { message: 'Invalid OAuth access token - Cannot parse access token', code: 190 });
    }
    const path = /^\/(v\d+\.\d+)\/([^/?]+)\/messages$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !path) return refuse(400, { message: 'Unknown path components', type: 'GraphMethodException', code: 2500 });
    if (path[2] !== this.senderId) {
      return refuse(400, {
        message: `Unsupported post request. Object with ID '${path[2]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
        type: 'GraphMethodException',
        code: 100,
        error_subcode: 33,
      });
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return refuse(400, { message: '(#100) The request body must be JSON', code: 100 });
    }
    const body = parseJson(request.body);
    if (body === undefined) return refuse(400, { message: '(#100) Unable to parse the request body as JSON', code: 100 });
    const message = isObject(body) ? readMessage(this.product, body) : '(#100) The request body must be a JSON object';
    if (typeof message === 'string') return refuse(400, { message, code: 100 });

    const next = this.script.shift() ?? { status: 200 };
    this.calls.push({ version: path[1]!, to: message.to, text: message.text, body: body as Json, answered: next.status });
    if (next.status !== 200) {
      return refuse(next.status, next.error ?? { message: 'An unexpected error has occurred. Please retry your request later.', code: 2 }, retryAfterHeader(next.retryAfterS));
    }
    if (this.product === 'whatsapp') {
      const wamid = `wamid.${randomBytes(24).toString('base64url')}`;
      return reply(200, { messaging_product: 'whatsapp', contacts: [{ input: message.to, wa_id: message.to }], messages: [{ id: wamid }] });
    }
    return reply(200, { recipient_id: message.to, message_id: `m_${randomBytes(24).toString('base64url')}` });
  }
}
