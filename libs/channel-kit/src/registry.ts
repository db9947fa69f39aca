import type { Channel } from '@app/contracts';

/**
 * Every channel adapter the product runs. Adding a channel is a folder `apps/adapters/<channel>/`
 * (see docs/adapters.md) and one line here; `npm start`, the container image and the manifests
 * take the list from this table.
 */
export const ADAPTERS: ReadonlyArray<{ channel: Channel; port: number }> = [
  { channel: 'webchat', port: 3010 },
  { channel: 'sms', port: 3011 },
  { channel: 'whatsapp', port: 3012 },
  { channel: 'messenger', port: 3013 },
  { channel: 'telegram', port: 3014 },
  { channel: 'slack', port: 3015 },
  { channel: 'email', port: 3016 },
  { channel: 'voice', port: 3017 },
];
