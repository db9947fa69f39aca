/** Accepting or declining a sync offer. Only the agent the offer went to can answer it (SQL-checked). */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { RoutingEngine } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

@Injectable()
export class OfferResponseUseCase {
  constructor(private readonly engine: RoutingEngine) {}

  async accept(runner: QueryRunner, agentId: string, conversationId: string, events: OutboxEvent[]): Promise<void> {
    if (!(await this.engine.accept(runner, conversationId, agentId, events))) {
      throw new CommandRejected('offer_unavailable', 'there is no live offer of this conversation for you (expired or withdrawn)');
    }
  }

  async decline(runner: QueryRunner, agentId: string, conversationId: string, events: OutboxEvent[]): Promise<void> {
    if (!(await this.engine.withdrawOffer(runner, conversationId, agentId, 'declined', `agent:${agentId}`, events))) {
      throw new CommandRejected('offer_unavailable', 'there is no live offer of this conversation for you (expired or withdrawn)');
    }
  }
}
