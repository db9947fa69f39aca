/**
 * The TwiML documents the voice adapter answers with or pushes onto a live call. Every text and URL
 * is XML-escaped: greetings come from configuration and agent ids, phone numbers and URLs from data.
 */
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>';

export function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char]!);
}

const say = (text: string) => `<Say>${xmlEscape(text)}</Say>`;
const document = (verbs: string) => `${HEAD}<Response>${verbs}</Response>`;

export interface HoldOptions {
  /** Spoken before the hold (the greeting, or the caller's place in the queue). */
  announcement?: string;
  holdMusicUrl?: string;
  pauseSeconds: number;
  waitUrl: string;
}

/** Speaks, holds (music or silence), then asks the wait URL again, which re-reads the queue. */
export function holdTwiml(options: HoldOptions): string {
  const hold = options.holdMusicUrl ? `<Play>${xmlEscape(options.holdMusicUrl)}</Play>` : `<Pause length="${options.pauseSeconds}"/>`;
  return document(`${options.announcement ? say(options.announcement) : ''}${hold}<Redirect method="POST">${xmlEscape(options.waitUrl)}</Redirect>`);
}

export type DialTarget = { client: string } | { number: string };

export function dialTwiml(target: DialTarget): string {
  const noun = 'client' in target ? `<Client>${xmlEscape(target.client)}</Client>` : `<Number>${xmlEscape(target.number)}</Number>`;
  return document(`<Dial>${noun}</Dial>`);
}

export function voicemailTwiml(prompt: string, actionUrl: string, maxLengthS: number): string {
  return document(
    `${say(prompt)}<Record action="${xmlEscape(actionUrl)}" method="POST" maxLength="${maxLengthS}" playBeep="true"/>${say('We did not receive a message. Goodbye.')}`,
  );
}

export function goodbyeTwiml(text: string): string {
  return document(`${say(text)}<Hangup/>`);
}
