/**
 * Where the demo finds the system and what it needs to talk to each channel adapter as its provider
 * would: base URLs (the `npm start` ports by default) and the webhook secrets the adapters were
 * started with. Secrets are read as start-all gives them to the adapters: the environment wins over
 * the development file (config/dev-adapters.json).
 */
import { readFile } from 'node:fs/promises';
import { ADAPTERS } from '@app/channel-kit';

export interface DemoEndpoints {
  router: string;
  gateway: string;
  webchat: string;
  sms: string;
  whatsapp: string;
  telegram: string;
}

export type DemoService = keyof DemoEndpoints;

const adapterUrl = (channel: string) => `http://127.0.0.1:${ADAPTERS.find((adapter) => adapter.channel === channel)!.port}`;

/** The ports `npm start` (scripts/start-all.ts) uses. */
export const DEFAULT_ENDPOINTS: Readonly<DemoEndpoints> = Object.freeze({
  router: 'http://127.0.0.1:3001',
  gateway: 'http://127.0.0.1:3002',
  webchat: adapterUrl('webchat'),
  sms: adapterUrl('sms'),
  whatsapp: adapterUrl('whatsapp'),
  telegram: adapterUrl('telegram'),
});

export interface WebchatEndpoint {
  url: string;
}

export interface SmsEndpoint {
  url: string;
  /** The URL Twilio signs: the adapter's PUBLIC_BASE_URL (without the path). */
  publicUrl: string;
  accountSid: string;
  authToken: string;
  /** The business number customers text (Twilio's `To`). */
  businessNumber: string;
}

export interface WhatsAppEndpoint {
  url: string;
  appSecret: string;
  phoneNumberId: string;
}

export interface TelegramEndpoint {
  url: string;
  secretToken: string;
}

export interface ChannelEndpoints {
  webchat: WebchatEndpoint;
  sms: SmsEndpoint;
  whatsapp: WhatsAppEndpoint;
  telegram: TelegramEndpoint;
}

/** Per channel, the variables an adapter was started with (the shape of config/dev-adapters.json). */
export type AdapterSettings = Record<string, Record<string, string>>;

export async function readAdapterSettings(path: string): Promise<AdapterSettings> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const settings: AdapterSettings = {};
  for (const [channel, values] of Object.entries(raw)) {
    if (typeof values === 'object' && values !== null) settings[channel] = values as Record<string, string>;
  }
  return settings;
}

/**
 * The channel endpoints from the base URLs and the adapters' settings; `env` wins over the file, as
 * for the adapters start-all runs. Twilio signs the adapter's public URL: `smsPublicUrl`, else its
 * PUBLIC_BASE_URL (environment, then file), else the adapter's own base URL.
 */
export function channelEndpoints(
  endpoints: DemoEndpoints,
  settings: AdapterSettings,
  env: Record<string, string | undefined> = {},
  smsPublicUrl?: string,
): ChannelEndpoints {
  const read = (channel: string, name: string): string => {
    const value = env[name] || settings[channel]?.[name];
    if (!value) throw new Error(`${name} is not set for the ${channel} adapter (neither in the environment nor in the adapters' settings file)`);
    return value;
  };
  return {
    webchat: { url: endpoints.webchat },
    sms: {
      url: endpoints.sms,
      publicUrl: smsPublicUrl ?? (env.PUBLIC_BASE_URL || settings.sms?.PUBLIC_BASE_URL || endpoints.sms),
      accountSid: read('sms', 'TWILIO_ACCOUNT_SID'),
      authToken: read('sms', 'TWILIO_AUTH_TOKEN'),
      businessNumber: read('sms', 'TWILIO_FROM'),
    },
    whatsapp: { url: endpoints.whatsapp, appSecret: read('whatsapp', 'META_APP_SECRET'), phoneNumberId: read('whatsapp', 'WHATSAPP_PHONE_NUMBER_ID') },
    telegram: { url: endpoints.telegram, secretToken: read('telegram', 'TELEGRAM_WEBHOOK_SECRET') },
  };
}
