/**
 * Emails agent replies to visitors who left an address after their chat became a message thread and
 * who are not on the page: the reply is in the chat in any case (resume shows it), the email tells
 * them to come back. Only this replica's sockets are checked, so with several replicas a visitor who
 * is online elsewhere may also get the email — harmless, and cheaper than shared presence.
 */
import { createTransport, type Transporter } from 'nodemailer';
import { PermanentSendFailure, TemporarySendFailure, type OutboundItem } from '@app/channel-kit';
import type { VisitorStore } from './visitor-store';

export class ReplyMailer {
  private readonly transport: Transporter;

  constructor(
    private readonly options: { smtpUrl: string; from: string; timeoutMs: number },
    private readonly store: VisitorStore,
    private readonly isOnline: (visitorId: string) => Promise<boolean>,
  ) {
    this.transport = createTransport({
      url: options.smtpUrl,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async maybeEmail(item: OutboundItem): Promise<void> {
    const target = await this.store.emailFor(item.conversationId);
    if (!target || (await this.isOnline(target.visitorId))) return;
    try {
      await this.transport.sendMail({
        from: this.options.from,
        to: target.email,
        subject: 'A reply to your chat with us',
        text: `${item.text}\n\n— Open the chat on our website to continue the conversation.`,
        messageId: `<webchat-${item.id}@${this.options.from.replace(/^.*@|>.*$/g, '')}>`,
      });
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      const reason = (error as { response?: string }).response ?? (error as Error).message;
      if (code !== undefined && code >= 500) throw new PermanentSendFailure(`the mail server refused the email copy: ${reason}`);
      throw new TemporarySendFailure(`the mail server did not take the email copy: ${reason}`);
    }
  }

  close(): void {
    this.transport.close();
  }
}
