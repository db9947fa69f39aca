/**
 * Reads what a conversation carries besides its messages: what a bot gathered before handing it to
 * a human (`context.bot`, written by the router on bot.handoff) and the customer's attributes. Both
 * arrive as free-form JSONB, written by bots, CRMs and adapters the desk does not control, so
 * nothing here trusts the shape: anything unexpected is dropped rather than shown half-parsed.
 */

/** The router and the bot.handoff contract only store scalars; nested values are not shown. */
export type AttributeValue = string | number | boolean | null;

export interface Attribute {
  key: string;
  value: AttributeValue;
}

export interface BotHandoff {
  /** Absent when the bot gave none, e.g. when it timed out and the router handed off for it. */
  summary?: string;
  attributes: Attribute[];
}

export interface CustomerFacts {
  attributes: Attribute[];
  vip: boolean;
  tier?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAttributeValue(value: unknown): value is AttributeValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Sorted by key: JSONB orders keys by length, which reads as random to a person. */
export function attributesOf(value: unknown): Attribute[] {
  if (!isRecord(value)) return [];
  return Object.entries(value)
    .filter((entry): entry is [string, AttributeValue] => entry[0].trim() !== '' && isAttributeValue(entry[1]))
    .map(([key, attribute]) => ({ key, value: attribute }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

/** What the bot handed over, or undefined when it handed over nothing the agent could read. */
export function botHandoffOf(context: unknown): BotHandoff | undefined {
  if (!isRecord(context) || !isRecord(context.bot)) return undefined;
  const { summary } = context.bot;
  const attributes = attributesOf(context.bot.attributes);
  const readable = typeof summary === 'string' && summary.trim() !== '' ? summary.trim() : undefined;
  if (readable === undefined && attributes.length === 0) return undefined;
  return readable === undefined ? { attributes } : { summary: readable, attributes };
}

/** `vip: true` or any tier is what the agent should notice before the first reply. */
export function customerFactsOf(attributes: unknown): CustomerFacts {
  const list = attributesOf(attributes);
  const vip = list.some((attribute) => attribute.key === 'vip' && attribute.value === true);
  const tier = list.find((attribute) => attribute.key === 'tier')?.value;
  return typeof tier === 'string' && tier.trim() !== '' ? { attributes: list, vip, tier: tier.trim() } : { attributes: list, vip };
}
