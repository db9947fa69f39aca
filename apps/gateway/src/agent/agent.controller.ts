/**
 * The agent's own API: presence and its lease, the work in hand (offers; sync and async held
 * separately, with load and cap), and answering offers. Changes go to the router as commands and
 * the answer is the router's result.
 */
import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { CommandBus } from '../commands/command-bus';
import { CallerThrottlerGuard } from '../http/caller-throttler.guard';
import { ConversationIdParams, DeclineDto, PresenceDto } from './agent.dto';
import { ReadModel } from './read-model';

export const commandBase = (principal: Principal) => ({
  commandId: randomUUID(),
  tenantId: principal.tenantId,
  agentId: principal.agentId,
});

@ApiTags('agent')
@ApiBearerAuth()
@UseGuards(AuthGuard, CallerThrottlerGuard)
@Controller('v1')
export class AgentController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reads: ReadModel,
  ) {}

  @Get('me')
  @ApiOperation({ summary: 'The calling agent: presence, queues, skills, load and effective caps' })
  me(@CurrentPrincipal() principal: Principal) {
    return this.reads.agentProfile(principal.tenantId, principal.agentId);
  }

  @Put('me/presence')
  @ApiOperation({ summary: 'Go online, away or offline; online and away start a lease that heartbeats renew' })
  presence(@CurrentPrincipal() principal: Principal, @Body() body: PresenceDto) {
    return this.commands.execute({ ...commandBase(principal), type: 'presence.set', presence: body.presence });
  }

  @Post('me/heartbeat')
  @HttpCode(200)
  @ApiOperation({ summary: 'Renew the presence lease (409 not_present when offline)' })
  heartbeat(@CurrentPrincipal() principal: Principal) {
    return this.commands.execute({ ...commandBase(principal), type: 'presence.heartbeat' });
  }

  @Get('me/work')
  @ApiOperation({ summary: 'Offers, held sync items and held async threads, with load and cap' })
  work(@CurrentPrincipal() principal: Principal) {
    return this.reads.work(principal);
  }

  @Post('offers/:id/accept')
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept an offer (409 when it expired or was withdrawn)' })
  async accept(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams) {
    await this.reads.requireConversation(principal, params.id);
    await this.commands.execute({ ...commandBase(principal), type: 'offer.accept', conversationId: params.id });
    return { conversationId: params.id, status: 'assigned' };
  }

  @Post('offers/:id/decline')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decline an offer; it is never offered to you again' })
  async decline(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Body() body: DeclineDto) {
    await this.reads.requireConversation(principal, params.id);
    await this.commands.execute({ ...commandBase(principal), type: 'offer.decline', conversationId: params.id, reason: body.reason });
    return { conversationId: params.id, status: 'declined' };
  }
}
