/**
 * Conversation priority (0..100) from the envelope's explicit priority, VIP customer attributes and
 * the sentiment of the customer's text (AFINN word list via the `sentiment` package, English only).
 *
 * Invariants:
 * - The result is an integer in 0..100 and never below the (clamped) explicit priority: boosts are
 *   non-negative, so happy text or a missing tier can only leave the priority where the sender put it.
 * - Sentiment adds at most one step: the largest boost among the steps whose threshold the
 *   comparative score is at or below (steps are alternatives, not cumulative).
 * - The text is read, never kept: it is not logged, and neither it nor its words appear in the result,
 *   which goes to the audit log. Only the comparative score (a number) leaves this module.
 */
import Sentiment from 'sentiment';

export interface SentimentStep {
  /** Comparative sentiment score (AFINN score per word, typically -5..5) at or below which the step applies. */
  atOrBelow: number;
  boost: number;
}

export interface PriorityPolicyOptions {
  vipBoost: number;
  sentimentSteps: SentimentStep[];
}

export interface PriorityInput {
  explicitPriority: number;
  text?: string;
  attributes: Record<string, string | number | boolean | null>;
}

export type PriorityReason = 'vip' | 'negative-sentiment';

export interface PriorityScore {
  priority: number;
  /** Comparative sentiment score; absent when there was no text to read. */
  sentiment?: number;
  reasons: PriorityReason[];
}

export const DEFAULT_PRIORITY_OPTIONS: Readonly<PriorityPolicyOptions> = Object.freeze({
  vipBoost: 20,
  sentimentSteps: [
    { atOrBelow: -0.5, boost: 15 },
    { atOrBelow: -0.2, boost: 8 },
  ],
});

const MIN_PRIORITY = 0;
const MAX_PRIORITY = 100;
const VIP_TIERS: ReadonlySet<string> = new Set(['vip', 'gold', 'platinum']);

function clamp(value: number): number {
  return Math.min(MAX_PRIORITY, Math.max(MIN_PRIORITY, value));
}

// A negative or NaN boost would break "never below the explicit priority", so bad options fail at boot.
function assertBoost(value: number, name: string): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`priority policy: ${name} must be a finite number ≥ 0`);
}

export class PriorityPolicy {
  private readonly vipBoost: number;
  private readonly sentimentSteps: readonly SentimentStep[];
  private readonly analyzer = new Sentiment();

  constructor(options: Partial<PriorityPolicyOptions> = {}) {
    // `??` rather than a spread so that an explicit `undefined` (e.g. from an unset config key) means "default".
    const vipBoost = options.vipBoost ?? DEFAULT_PRIORITY_OPTIONS.vipBoost;
    const sentimentSteps = options.sentimentSteps ?? DEFAULT_PRIORITY_OPTIONS.sentimentSteps;
    assertBoost(vipBoost, 'vipBoost');
    sentimentSteps.forEach((step, index) => {
      if (!Number.isFinite(step.atOrBelow)) throw new RangeError(`priority policy: sentimentSteps[${index}].atOrBelow must be finite`);
      assertBoost(step.boost, `sentimentSteps[${index}].boost`);
    });
    this.vipBoost = vipBoost;
    this.sentimentSteps = sentimentSteps.map((step) => ({ ...step }));
  }

  score(input: PriorityInput): PriorityScore {
    if (!Number.isFinite(input.explicitPriority)) throw new RangeError('priority policy: explicitPriority must be a finite number');
    let priority = clamp(input.explicitPriority);
    const reasons: PriorityReason[] = [];

    if (this.isVip(input.attributes) && this.vipBoost > 0) {
      priority += this.vipBoost;
      reasons.push('vip');
    }

    const sentiment = this.sentimentOf(input.text);
    const boost = sentiment === undefined ? 0 : this.sentimentBoost(sentiment);
    if (boost > 0) {
      priority += boost;
      reasons.push('negative-sentiment');
    }

    // Rounded because the envelope and the queue index carry integer priorities.
    return { priority: Math.round(clamp(priority)), ...(sentiment === undefined ? {} : { sentiment }), reasons };
  }

  private isVip(attributes: PriorityInput['attributes']): boolean {
    const tier = attributes['tier'];
    // Tiers come from many CRMs; "Gold" and "gold " are the same customer.
    return attributes['vip'] === true || (typeof tier === 'string' && VIP_TIERS.has(tier.trim().toLowerCase()));
  }

  private sentimentOf(text: string | undefined): number | undefined {
    // Blank text has no words: the analyzer would report a neutral 0, which is a guess, not a reading.
    if (text === undefined || text.trim() === '') return undefined;
    const { comparative } = this.analyzer.analyze(text);
    return Number.isFinite(comparative) ? comparative : undefined;
  }

  private sentimentBoost(comparative: number): number {
    return this.sentimentSteps.reduce((best, step) => (comparative <= step.atOrBelow ? Math.max(best, step.boost) : best), 0);
  }
}
