/**
 * What must never reach a log line: message bodies, phone numbers, email addresses and secrets.
 * Two layers: pino's path redaction for fields we know carry them, and a scrub of every string that
 * masks anything shaped like a phone number, an email address or a bearer token, wherever it hides.
 */
export const REDACTED = '[redacted]';

const SENSITIVE_KEYS = [
  'text',
  'body',
  'content',
  'address',
  'phone',
  'email',
  'from',
  'to',
  'displayName',
  'password',
  'secret',
  'token',
  'authorization',
  'cookie',
  'apiKey',
];

export const REDACT_PATHS = [
  ...SENSITIVE_KEYS,
  ...SENSITIVE_KEYS.map((key) => `*.${key}`),
  ...SENSITIVE_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-twilio-signature"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-slack-signature"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// Not inside a word or an id (a UUID's last group is twelve digits more often than not).
const PHONE = /(?<![\w-])\+?\d[\d\s().-]{7,}\d(?![\w-])/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const URL_CREDENTIALS = /(\w+:\/\/)[^:@/\s]+:[^@/\s]+@/g;
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

export function scrubString(value: string): string {
  return value
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(EMAIL, REDACTED)
    .replace(PHONE, (match) => (isProbablyTimestampOrId(match) ? match : REDACTED));
}

/** ISO dates and UUID fragments look numeric; leave them readable. */
function isProbablyTimestampOrId(match: string): boolean {
  return /^\d{4}-\d{2}-\d{2}/.test(match) || /^\d{1,4}(-\d{1,4}){1,2}$/.test(match);
}

export function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, depth + 1));
  if (value instanceof Error) return { type: value.name, message: scrubString(value.message) };
  const output: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) output[key] = scrubDeep(item, depth + 1);
  return output;
}
