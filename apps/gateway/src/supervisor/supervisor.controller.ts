/**
 * The supervisor's API: live queue and agent statistics for the caller's tenant, the open
 * conversations behind them (to pick one to move), and the changes a
 * supervisor makes for others — move a conversation, set an agent's caps, set the queues an agent
 * serves. Changes are router commands; the answer is the router's result, its refusals the errors.
 */
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { commandBase } from '../agent/agent.controller';
import { ConversationIdParams, TransferDto, transferTarget } from '../agent/agent.dto';
import { AuthGuard, CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { CommandBus } from '../commands/command-bus';
import { ApiError } from '../http/api-error';
import { CallerThrottlerGuard } from '../http/caller-throttler.guard';
import { SupervisorStats } from './supervisor-stats';
import { AgentIdParams, CapacityDto, ConversationsQuery, OPEN_STATUSES, QueuesDto } from './supervisor.dto';

const STATS_DESCRIPTION =
  'Answer `{at, queues, agents}` (or one half). Each queue has id, name, waitingSync, waitingAsync, offered, assigned, ' +
  'oldestWaitS, maxWaitS, slaState, agentsOnline (agents the router may give its work to: online, with the queue\'s ' +
  'required skills, serving it — an empty queue list serves every queue), agentsAvailableSync and agentsAvailableAsync ' +
  '(of those, the ones with room now for a sync item — out of wrap-up, under the sync cap — and for an async thread — ' +
  'under the async cap, no sync item in hand when that blocks async). Each agent has id, name, presence, syncLoad, ' +
  'asyncLoad, syncCap and asyncCap (its own, else the largest of the queues it serves, else the default), queueIds, ' +
  'wrapUpUntil and presenceChangedAt.';

@ApiTags('supervisor')
@ApiBearerAuth()
@Roles('supervisor')
@UseGuards(AuthGuard, CallerThrottlerGuard)
@Controller('v1/supervisor')
export class SupervisorController {
  constructor(
    private readonly commands: CommandBus,
    private readonly stats: SupervisorStats,
  ) {}

  @Get('stats')
  @ApiOperation({
    summary: 'Queues (waiting, offered, held, oldest wait, SLA state, eligible agents and those with room) and agents (presence, load, caps)',
    description: STATS_DESCRIPTION,
  })
  snapshot(@CurrentPrincipal() principal: Principal) {
    return this.stats.snapshot(principal.tenantId);
  }

  @Get('queues')
  @ApiOperation({ summary: 'The queue half of the stats', description: STATS_DESCRIPTION })
  async queues(@CurrentPrincipal() principal: Principal) {
    const { at, queues } = await this.stats.snapshot(principal.tenantId);
    return { at, queues };
  }

  @Get('agents')
  @ApiOperation({ summary: 'The agent half of the stats', description: STATS_DESCRIPTION })
  async agents(@CurrentPrincipal() principal: Principal) {
    const { at, agents } = await this.stats.snapshot(principal.tenantId);
    return { at, agents };
  }

  @Get('conversations')
  @ApiOperation({
    summary: 'Open conversations of the tenant: waiting first (by effective priority, then longest wait), then offered and held, then with the bot',
    description:
      'Filter by queueId, agentId (offered to or held by), status (default every open one; never closed) and mode. ' +
      'Answer `{at, conversations, nextCursor}`; each conversation has id, channel, mode, status, queueId, priority, ' +
      'assignedAgentId, assignedAgentName, customer {id, name}, queuedAt and waitingS (waiting ones), assignedAt (offered and held ones), ' +
      'lastMessageAt. Pass nextCursor as `after` with the same filters for the next page.',
  })
  conversations(@CurrentPrincipal() principal: Principal, @Query() query: ConversationsQuery) {
    return this.stats.conversations(principal.tenantId, {
      queueId: query.queueId,
      agentId: query.agentId,
      statuses: query.status ?? OPEN_STATUSES,
      mode: query.mode,
      limit: query.limit ?? 50,
      after: query.after,
    });
  }

  @Post('conversations/:id/reassign')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move a queued, offered or held conversation to an agent with room (409 target_unavailable otherwise) or to a queue' })
  reassign(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Body() body: TransferDto) {
    const to = transferTarget(body);
    if (!to) throw new ApiError(400, 'invalid_target', 'give exactly one of agentId and queueId');
    return this.commands.execute({ ...commandBase(principal), type: 'conversation.reassign', conversationId: params.id, to });
  }

  @Put('agents/:agentId/capacity')
  @ApiOperation({ summary: "Set an agent's sync and/or async cap (null = inherit); raised room is used at once, lowering never revokes work" })
  capacity(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParams, @Body() body: CapacityDto) {
    if (body.syncCap === undefined && body.asyncCap === undefined) {
      throw new ApiError(400, 'validation_failed', 'give syncCap, asyncCap or both (null = inherit)');
    }
    return this.commands.execute({
      ...commandBase(principal),
      type: 'agent.capacity.set',
      targetAgentId: params.agentId,
      syncCap: body.syncCap,
      asyncCap: body.asyncCap,
    });
  }

  @Put('agents/:agentId/queues')
  @ApiOperation({ summary: 'Replace the queues an agent serves (404 unknown_queue names a missing one); held work stays' })
  queuesOf(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParams, @Body() body: QueuesDto) {
    return this.commands.execute({ ...commandBase(principal), type: 'agent.queues.set', targetAgentId: params.agentId, queueIds: body.queueIds });
  }
}
