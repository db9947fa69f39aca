/**
 * The admin API: the caller's tenant's queues and agents as configuration. PUT creates or replaces
 * (201 when created, 200 when replaced, the stored record either way); DELETE refuses while anything
 * still refers to the record. Live changes an agent should feel at once (queues served, caps) are
 * better made through the supervisor API, which lets the router act on them immediately.
 */
import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthGuard, CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { CallerThrottlerGuard } from '../http/caller-throttler.guard';
import { AgentDto, AgentParams, QueueDto, QueueParams } from './admin.dto';
import { AdminRepository } from './admin.repository';

@ApiTags('admin')
@ApiBearerAuth()
@Roles('admin')
@UseGuards(AuthGuard, CallerThrottlerGuard)
@Controller('v1/admin')
export class AdminController {
  constructor(private readonly repository: AdminRepository) {}

  @Get('queues')
  @ApiOperation({ summary: "The tenant's queues" })
  async queues(@CurrentPrincipal() principal: Principal) {
    return { queues: await this.repository.listQueues(principal.tenantId) };
  }

  @Get('queues/:id')
  @ApiOperation({ summary: 'One queue (404 queue_not_found)' })
  queue(@CurrentPrincipal() principal: Principal, @Param() params: QueueParams) {
    return this.repository.getQueue(principal.tenantId, params.id);
  }

  @Put('queues/:id')
  @ApiOperation({ summary: 'Create (201) or replace (200) a queue; omitted fields take their defaults' })
  async putQueue(
    @CurrentPrincipal() principal: Principal,
    @Param() params: QueueParams,
    @Body() body: QueueDto,
    @Res({ passthrough: true }) response: Response,
  ) {
    const { queue, created } = await this.repository.putQueue(principal.tenantId, params.id, body);
    response.status(created ? 201 : 200);
    return queue;
  }

  @Delete('queues/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a queue (409 queue_in_use while conversations, overflows or agents refer to it)' })
  async deleteQueue(@CurrentPrincipal() principal: Principal, @Param() params: QueueParams): Promise<void> {
    await this.repository.deleteQueue(principal.tenantId, params.id);
  }

  @Get('agents')
  @ApiOperation({ summary: "The tenant's agents (configuration, with presence for reference)" })
  async agents(@CurrentPrincipal() principal: Principal) {
    return { agents: await this.repository.listAgents(principal.tenantId) };
  }

  @Get('agents/:id')
  @ApiOperation({ summary: 'One agent (404 agent_not_found)' })
  agent(@CurrentPrincipal() principal: Principal, @Param() params: AgentParams) {
    return this.repository.getAgent(principal.tenantId, params.id);
  }

  @Put('agents/:id')
  @ApiOperation({ summary: "Create (201) or replace (200) an agent's configuration; presence and held work are kept" })
  async putAgent(
    @CurrentPrincipal() principal: Principal,
    @Param() params: AgentParams,
    @Body() body: AgentDto,
    @Res({ passthrough: true }) response: Response,
  ) {
    const { agent, created } = await this.repository.putAgent(principal.tenantId, params.id, body);
    response.status(created ? 201 : 200);
    return agent;
  }

  @Delete('agents/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an agent (409 agent_has_history once it has handled work or written messages)' })
  async deleteAgent(@CurrentPrincipal() principal: Principal, @Param() params: AgentParams): Promise<void> {
    await this.repository.deleteAgent(principal.tenantId, params.id);
  }
}
