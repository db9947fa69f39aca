/**
 * Request bodies and query strings of the agent API. The global ValidationPipe refuses unknown
 * fields, so every accepted field is declared here, and the OpenAPI document is built from the same
 * classes.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { AGENT_ID_PATTERN, QUEUE_ID_PATTERN } from '@app/contracts';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class PresenceDto {
  @ApiProperty({ enum: ['online', 'away', 'offline'] })
  @IsIn(['online', 'away', 'offline'])
  presence!: 'online' | 'away' | 'offline';
}

export class ConversationIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'conversation id must be a UUID' })
  id!: string;
}

export class DeclineDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class MessageDto {
  @ApiProperty({ description: 'Chosen by the client; sending the same id twice stores and sends one message', pattern: CLIENT_ID.source })
  @Matches(CLIENT_ID, { message: 'clientMessageId must be 1–128 letters, digits or . _ : -' })
  clientMessageId!: string;

  @ApiProperty({ minLength: 1, maxLength: 10_000 })
  @IsString()
  @MinLength(1)
  @MaxLength(10_000)
  text!: string;
}

export class TransferDto {
  @ApiPropertyOptional({ description: 'Hand to this agent (must be online with room); or give queueId' })
  @IsOptional()
  @Matches(AGENT_ID_PATTERN, { message: 'agentId must be 1–64 letters, digits, _ or -' })
  agentId?: string;

  @ApiPropertyOptional({ description: 'Put back in this queue; or give agentId' })
  @IsOptional()
  @Matches(QUEUE_ID_PATTERN, { message: 'queueId must be 1–64 letters, digits, . _ or -' })
  queueId?: string;
}

export class CloseDto {
  @ApiPropertyOptional({ maxLength: 2000, description: 'Wrap-up notes' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  wrapUp?: string;
}

export class MessagesQuery {
  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ enum: ['conversation', 'customer'], default: 'conversation', description: 'customer: every conversation of this customer, on every channel' })
  @IsOptional()
  @IsIn(['conversation', 'customer'])
  scope?: 'conversation' | 'customer';
}

/** Exactly one of agentId and queueId; the class validators check each one's form. */
export function transferTarget(body: TransferDto): { agentId: string } | { queueId: string } | undefined {
  if (body.agentId !== undefined && body.queueId === undefined) return { agentId: body.agentId };
  if (body.queueId !== undefined && body.agentId === undefined) return { queueId: body.queueId };
  return undefined;
}
