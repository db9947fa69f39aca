/**
 * What the web chat adapter reads from the router's database: a visitor's current conversation and
 * its messages by sequence number (for resume), the sequence of a live reply, the visitor behind a
 * conversation (lifecycle events name only the conversation), and the email a visitor left. The
 * router owns these tables; the only write is the visitor's email on the customer's attributes.
 */
import { Pool } from 'pg';

export interface ChatMessage {
  conversationId: string;
  seq: number;
  id: string;
  sender: 'customer' | 'agent' | 'bot' | 'system';
  text: string;
  createdAt: string;
  /** The widget's id for its own messages, so it can match what it already shows. */
  clientMessageId?: string;
}

interface MessageRow {
  conversation_id: string;
  seq: string;
  id: string;
  sender: ChatMessage['sender'];
  body: string | null;
  created_at: Date;
  provider_message_id: string;
}

/** How many messages one resume replays at most; a visitor further behind resumes again from the last one. */
export const RESUME_LIMIT = 500;

export class VisitorStore {
  private readonly pool: Pool;

  constructor(
    url: string,
    private readonly tenantId: string,
  ) {
    this.pool = new Pool({ connectionString: url, max: 4, application_name: 'webchat-adapter' });
  }

  /** The visitor's open conversation, or else the last one (its replies are still worth showing). */
  async currentConversation(visitorId: string): Promise<{ id: string; mode: 'sync' | 'async'; status: string } | undefined> {
    const { rows } = await this.pool.query<{ id: string; mode: 'sync' | 'async'; status: string }>(
      `SELECT c.id, c.mode, c.status FROM conversations c
         JOIN channel_identities i ON i.id = c.identity_id
        WHERE i.tenant_id = $1 AND i.channel = 'webchat' AND i.address = $2 AND c.thread_key = $2
        ORDER BY (c.status <> 'closed') DESC, c.created_at DESC LIMIT 1`,
      [this.tenantId, visitorId],
    );
    return rows[0];
  }

  /** Customer and agent messages after `afterSeq`, oldest first; internal notes never leave the desk. */
  async messagesAfter(conversationId: string, afterSeq: number, visitorId: string): Promise<ChatMessage[]> {
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT conversation_id, seq, id, sender, body, created_at, provider_message_id FROM messages
        WHERE conversation_id = $1 AND tenant_id = $2 AND seq > $3 AND direction IN ('inbound', 'outbound')
        ORDER BY seq LIMIT ${RESUME_LIMIT}`,
      [conversationId, this.tenantId, afterSeq],
    );
    return rows.map((row) => toMessage(row, visitorId));
  }

  async message(messageId: string, visitorId: string): Promise<ChatMessage | undefined> {
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT conversation_id, seq, id, sender, body, created_at, provider_message_id FROM messages
        WHERE id = $1 AND tenant_id = $2 AND direction IN ('inbound', 'outbound')`,
      [messageId, this.tenantId],
    );
    return rows[0] ? toMessage(rows[0], visitorId) : undefined;
  }

  /** The visitor of a web chat conversation in this tenant, with the holding agent's name if any. */
  async visitorOf(conversationId: string): Promise<{ visitorId: string; agentName?: string } | undefined> {
    const { rows } = await this.pool.query<{ address: string; agent_name: string | null }>(
      `SELECT i.address, a.name AS agent_name FROM conversations c
         JOIN channel_identities i ON i.id = c.identity_id
         LEFT JOIN agents a ON a.id = c.assigned_agent_id
        WHERE c.id = $1 AND c.tenant_id = $2 AND c.channel = 'webchat'`,
      [conversationId, this.tenantId],
    );
    return rows[0] ? { visitorId: rows[0].address, ...(rows[0].agent_name ? { agentName: rows[0].agent_name } : {}) } : undefined;
  }

  /** Returns false when the visitor has not written yet (no customer to attach the address to). */
  async saveEmail(visitorId: string, email: string): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE customers SET attributes = attributes || jsonb_build_object('email', $3::text), updated_at = now()
        WHERE id = (SELECT customer_id FROM channel_identities WHERE tenant_id = $1 AND channel = 'webchat' AND address = $2)`,
      [this.tenantId, visitorId, email],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Where to email a reply: only for conversations that became message threads, and only with an address. */
  async emailFor(conversationId: string): Promise<{ email: string; visitorId: string } | undefined> {
    const { rows } = await this.pool.query<{ email: string | null; address: string }>(
      `SELECT cu.attributes ->> 'email' AS email, i.address FROM conversations c
         JOIN customers cu ON cu.id = c.customer_id
         JOIN channel_identities i ON i.id = c.identity_id
        WHERE c.id = $1 AND c.tenant_id = $2 AND c.mode = 'async'`,
      [conversationId, this.tenantId],
    );
    return rows[0]?.email ? { email: rows[0].email, visitorId: rows[0].address } : undefined;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function toMessage(row: MessageRow, visitorId: string): ChatMessage {
  const prefix = `${visitorId}:`;
  return {
    conversationId: row.conversation_id,
    seq: Number(row.seq),
    id: row.id,
    sender: row.sender,
    text: row.body ?? '',
    createdAt: row.created_at.toISOString(),
    ...(row.sender === 'customer' && row.provider_message_id.startsWith(prefix) ? { clientMessageId: row.provider_message_id.slice(prefix.length) } : {}),
  };
}
