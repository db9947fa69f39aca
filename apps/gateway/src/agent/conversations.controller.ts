/**
 * Working a conversation: read it and its customer's history across channels, reply, add internal
 * notes, transfer, close, release, escalate an async thread to a call. Each route first checks the
 * caller may see the conversation (404 otherwise); the router then checks the caller holds it.
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { CommandBus } from '../commands/command-bus';
import { ApiError } from '../http/api-error';
import { CallerThrottlerGuard } from '../http/caller-throttler.guard';
import { commandBase } from './agent.controller';
import { CloseDto, ConversationIdParams, MessageDto, MessagesQuery, TransferDto, transferTarget } from './agent.dto';
import { ReadModel } from './read-model';

interface Written {
  messageId: string;
  deliveryStatus: string | null;
  duplicate: boolean;
}

@ApiTags('conversations')
@ApiBearerAuth()
@UseGuards(AuthGuard, CallerThrottlerGuard)
@Controller('v1/conversations')
export class ConversationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reads: ReadModel,
  ) {}

  @Get(':id')
  @ApiOperation({ summary: "A conversation, its customer, and the customer's other conversations on every channel" })
  get(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams) {
    return this.reads.conversation(principal, params.id);
  }

  @Get(':id/messages')
  @ApiOperation({ summary: 'Messages newest first, paginated by cursor; scope=customer spans all the customer\'s conversations' })
  messages(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Query() query: MessagesQuery) {
    return this.reads.messages(principal, params.id, { before: query.before, limit: query.limit ?? 50, scope: query.scope ?? 'conversation' });
  }

  @Post(':id/replies')
  @HttpCode(202)
  @ApiOperation({ summary: 'Reply to the customer on the conversation\'s channel; delivery statuses follow as events' })
  async reply(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Body() body: MessageDto) {
    await this.reads.requireConversation(principal, params.id);
    return this.commands.execute<Written>({
      ...commandBase(principal),
      type: 'conversation.reply',
      conversationId: params.id,
      clientMessageId: body.clientMessageId,
      text: body.text,
    });
  }

  @Post(':id/notes')
  @HttpCode(201)
  @ApiOperation({ summary: 'An internal note, seen by agents only' })
  async note(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Body() body: MessageDto) {
    await this.reads.requireConversation(principal, params.id);
    return this.commands.execute<Written>({
      ...commandBase(principal),
      type: 'conversation.note',
      conversationId: params.id,
      clientMessageId: body.clientMessageId,
      text: body.text,
    });
  }

  @Post(':id/transfer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Hand the conversation to an agent with room (409 target_unavailable otherwise) or to a queue' })
  async transfer(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Body() body: TransferDto) {
    const to = transferTarget(body);
    if (!to) throw new ApiError(400, 'invalid_target', 'give exactly one of agentId and queueId');
    await this.reads.requireConversation(principal, params.id);
    return this.commands.execute({ ...commandBase(principal), type: 'conversation.transfer', conversationId: params.id, to });
  }

  @Post(':id/close')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the conversation; for live work the queue\'s wrap-up time starts' })
  async close(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams, @Body() body: CloseDto) {
    await this.reads.requireConversation(principal, params.id);
    await this.commands.execute({ ...commandBase(principal), type: 'conversation.close', conversationId: params.id, wrapUp: body.wrapUp });
    return { conversationId: params.id, status: 'closed' };
  }

  @Post(':id/release')
  @HttpCode(200)
  @ApiOperation({ summary: 'Put the conversation back in its queue for someone else' })
  async release(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams) {
    await this.reads.requireConversation(principal, params.id);
    return this.commands.execute({ ...commandBase(principal), type: 'conversation.release', conversationId: params.id });
  }

  @Post(':id/escalate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Turn an async thread into a live item (a call): kept when you have sync room, else queued as live work' })
  async escalate(@CurrentPrincipal() principal: Principal, @Param() params: ConversationIdParams) {
    await this.reads.requireConversation(principal, params.id);
    return this.commands.execute({ ...commandBase(principal), type: 'conversation.escalate', conversationId: params.id });
  }
}
