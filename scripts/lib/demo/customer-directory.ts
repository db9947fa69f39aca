/**
 * Who is who in the narration: the demo's customers by channel and address, and conversations by
 * id, resolved once through the gateway (a supervisor sees every conversation of the tenant) and
 * remembered. Lets agent events, which name only a conversation, be told as "sms customer 3".
 */
import type { Channel } from '@app/contracts';
import type { GatewayClient } from './gateway-client';

export interface KnownCustomer {
  label: string;
  channel: Channel;
  /** The address the channel identifies them by: phone number, WhatsApp id, chat id, visitor id. */
  address: string;
}

export class CustomerDirectory<C extends KnownCustomer = KnownCustomer> {
  private readonly byAddress = new Map<string, C>();
  private readonly byConversation = new Map<string, Promise<C | undefined>>();

  /** `lookup`: a supervisor's client; without one only conversations told with `remember` are known. */
  constructor(private readonly lookup?: GatewayClient) {}

  add(customer: C): C {
    this.byAddress.set(`${customer.channel}\u0000${customer.address}`, customer);
    return customer;
  }

  get customers(): C[] {
    return [...this.byAddress.values()];
  }

  byChannelAddress(channel: string, address: string): C | undefined {
    return this.byAddress.get(`${channel}\u0000${address}`);
  }

  remember(conversationId: string, customer: C): void {
    this.byConversation.set(conversationId, Promise.resolve(customer));
  }

  /** The demo customer of a conversation, or undefined (someone else's, or not visible). */
  customerOf(conversationId: string): Promise<C | undefined> {
    let found = this.byConversation.get(conversationId);
    if (!found) {
      found = this.resolve(conversationId);
      this.byConversation.set(conversationId, found);
    }
    return found;
  }

  private async resolve(conversationId: string): Promise<C | undefined> {
    if (!this.lookup) return undefined;
    try {
      const conversation = await this.lookup.get<{ channel: string; customer: { address: string } }>(`/v1/conversations/${conversationId}`);
      return this.byChannelAddress(conversation.channel, conversation.customer.address);
    } catch {
      this.byConversation.delete(conversationId);
      return undefined;
    }
  }
}
