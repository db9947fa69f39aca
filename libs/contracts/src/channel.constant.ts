/**
 * The channels the router knows and the mode each one defaults to. Mode is also a property of the
 * conversation (a live chat can be downgraded to async, an async thread escalated to a call), so
 * this table is only the starting point.
 */
export const CHANNELS = [
  'webchat',
  'voice',
  'video',
  'sms',
  'whatsapp',
  'messenger',
  'instagram',
  'telegram',
  'slack',
  'email',
  'broker',
] as const;

export type Channel = (typeof CHANNELS)[number];

export const MODES = ['sync', 'async'] as const;
export type Mode = (typeof MODES)[number];

export const DEFAULT_CHANNEL_MODE: Readonly<Record<Channel, Mode>> = {
  webchat: 'sync',
  voice: 'sync',
  video: 'sync',
  sms: 'async',
  whatsapp: 'async',
  messenger: 'async',
  instagram: 'async',
  telegram: 'async',
  slack: 'async',
  email: 'async',
  broker: 'async',
};
