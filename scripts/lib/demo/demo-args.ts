/**
 * `npm run demo -- [options]`: the command line (and the environment variables that stand in for
 * its URLs, so tests can point the demo at services on other ports), parsed without side effects.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ENDPOINTS, type DemoEndpoints, type DemoService } from './demo-endpoints';
import type { AsyncChannel } from './demo-scenario';

export const DEMO_USAGE = `usage: npm run demo -- [options]

Starts the system if nothing is running (and stops it again at the end), seeds the demo queues and
agents, prints desk links, then plays customers and scripted agents and tells what routing does.

  --duration <s>        stop after this many seconds (default: run until Ctrl-C)
  --no-start            fail instead of starting the system when it is not running
  --quiet               print the links and the summary, not every event
  --verbose             also tell every customer message and agent answer
  --channels <list>     messaging channels customers use (default sms,whatsapp,telegram)
  --tenant <id>         the tenant the adapters run for (default "default")
  --gateway <url>       agent gateway (env DEMO_GATEWAY_URL; default ${DEFAULT_ENDPOINTS.gateway})
  --router <url>        router health (env DEMO_ROUTER_URL; default ${DEFAULT_ENDPOINTS.router})
  --webchat <url>       web chat adapter (env DEMO_WEBCHAT_URL; default ${DEFAULT_ENDPOINTS.webchat})
  --sms <url>           SMS adapter (env DEMO_SMS_URL; default ${DEFAULT_ENDPOINTS.sms})
  --whatsapp <url>      WhatsApp adapter (env DEMO_WHATSAPP_URL; default ${DEFAULT_ENDPOINTS.whatsapp})
  --telegram <url>      Telegram adapter (env DEMO_TELEGRAM_URL; default ${DEFAULT_ENDPOINTS.telegram})
  --sms-public-url <u>  the URL Twilio signs (env DEMO_SMS_PUBLIC_URL; default the SMS adapter's PUBLIC_BASE_URL)
  --desk <url>          the agent desk (env DEMO_DESK_URL; default <gateway>/desk/)
  --adapters-config <f> the adapters' webhook secrets (env ADAPTERS_ENV_FILE; default config/dev-adapters.json)
`;

export interface DemoArgs {
  help: boolean;
  /** Undefined: until Ctrl-C. */
  durationS?: number;
  start: boolean;
  quiet: boolean;
  verbose: boolean;
  channels: AsyncChannel[];
  tenant: string;
  endpoints: DemoEndpoints;
  /** True when every URL is the `npm start` default: only then can the demo start the system itself. */
  defaultPorts: boolean;
  smsPublicUrl?: string;
  deskUrl: string;
  adaptersConfig?: string;
}

export class DemoArgsError extends Error {}

const ASYNC_CHANNELS: readonly AsyncChannel[] = ['sms', 'whatsapp', 'telegram'];
const SERVICES = Object.keys(DEFAULT_ENDPOINTS) as DemoService[];

function baseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DemoArgsError(`${name} must be an http(s) URL such as http://127.0.0.1:3002, not "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DemoArgsError(`${name} must be an http(s) URL`);
  return value.replace(/\/+$/, '');
}

export function parseDemoArgs(argv: string[], env: Record<string, string | undefined> = {}): DemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        duration: { type: 'string' },
        'no-start': { type: 'boolean' },
        quiet: { type: 'boolean' },
        verbose: { type: 'boolean' },
        channels: { type: 'string' },
        tenant: { type: 'string' },
        gateway: { type: 'string' },
        router: { type: 'string' },
        webchat: { type: 'string' },
        sms: { type: 'string' },
        whatsapp: { type: 'string' },
        telegram: { type: 'string' },
        'sms-public-url': { type: 'string' },
        desk: { type: 'string' },
        'adapters-config': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new DemoArgsError((error as Error).message);
  }

  let durationS: number | undefined;
  if (values.duration !== undefined) {
    durationS = Number(values.duration);
    if (!/^\d+(\.\d+)?$/.test(values.duration) || durationS <= 0) throw new DemoArgsError('--duration must be a positive number of seconds');
  }

  const channels = (values.channels ?? ASYNC_CHANNELS.join(','))
    .split(',')
    .map((channel) => channel.trim())
    .filter(Boolean);
  const unknown = channels.filter((channel) => !ASYNC_CHANNELS.includes(channel as AsyncChannel));
  if (unknown.length > 0 || channels.length === 0) {
    throw new DemoArgsError(`--channels takes a comma-separated list of ${ASYNC_CHANNELS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`);
  }

  const tenant = values.tenant ?? 'default';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant)) throw new DemoArgsError('--tenant must be 1–63 lower-case letters, digits or -');

  const endpoints = { ...DEFAULT_ENDPOINTS };
  for (const service of SERVICES) {
    const given = values[service] ?? env[`DEMO_${service.toUpperCase()}_URL`];
    if (given) endpoints[service] = baseUrl(`--${service}`, given);
  }
  const defaultPorts = SERVICES.every((service) => endpoints[service] === DEFAULT_ENDPOINTS[service]);
  const smsPublic = values['sms-public-url'] ?? env.DEMO_SMS_PUBLIC_URL;
  const desk = values.desk ?? env.DEMO_DESK_URL;

  return {
    help: values.help ?? false,
    durationS,
    start: !values['no-start'],
    quiet: values.quiet ?? false,
    verbose: values.verbose ?? false,
    channels: channels as AsyncChannel[],
    tenant,
    endpoints,
    defaultPorts,
    smsPublicUrl: smsPublic ? baseUrl('--sms-public-url', smsPublic) : undefined,
    deskUrl: desk ? baseUrl('--desk', desk) + (desk.endsWith('/') ? '/' : '') : `${endpoints.gateway}/desk/`,
    adaptersConfig: values['adapters-config'] ?? (env.ADAPTERS_ENV_FILE || undefined),
  };
}
