/**
 * Request bodies, path parameters and query strings of the supervisor API. The global
 * ValidationPipe refuses unknown fields, so every accepted field is declared here; the OpenAPI
 * document is built from the same classes. A reassignment takes the agent API's TransferDto (same
 * target shape).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { AGENT_ID_PATTERN, MODES, QUEUE_ID_PATTERN, type Mode } from '@app/contracts';

/** The statuses of a conversation that is not closed; a supervisor's list never shows closed ones. */
export const OPEN_STATUSES = ['queued', 'offered', 'assigned', 'bot'] as const;
export type OpenStatus = (typeof OPEN_STATUSES)[number];

export class AgentIdParams {
  @ApiProperty({ pattern: AGENT_ID_PATTERN.source })
  @Matches(AGENT_ID_PATTERN, { message: 'agentId must be 1–64 letters, digits, _ or -' })
  agentId!: string;
}

/** `null` clears the override so the agent inherits its queues' cap, else the global default. */
export class CapacityDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, nullable: true, description: 'Live items at once; null = inherit' })
  // IsOptional skips null as well as a missing field: null is a valid value here (inherit).
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  syncCap?: number | null;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, nullable: true, description: 'Async threads at once; null = inherit' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  asyncCap?: number | null;
}

export class QueuesDto {
  @ApiProperty({ type: [String], maxItems: 100, description: 'Replaces the queues the agent serves; held work stays with them' })
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(QUEUE_ID_PATTERN, { each: true, message: 'each queue id must be 1–64 letters, digits, . _ or -' })
  queueIds!: string[];
}

/** `status=queued&status=offered` or `status=queued,offered`; a lone value is a list of one. */
const toList = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',') : value);

export class ConversationsQuery {
  @ApiPropertyOptional({ pattern: QUEUE_ID_PATTERN.source, description: 'Only this queue' })
  @IsOptional()
  @Matches(QUEUE_ID_PATTERN, { message: 'queueId must be 1–64 letters, digits, . _ or -' })
  queueId?: string;

  @ApiPropertyOptional({ pattern: AGENT_ID_PATTERN.source, description: 'Only what is offered to or held by this agent' })
  @IsOptional()
  @Matches(AGENT_ID_PATTERN, { message: 'agentId must be 1–64 letters, digits, _ or -' })
  agentId?: string;

  @ApiPropertyOptional({
    enum: OPEN_STATUSES,
    isArray: true,
    description: 'One or more (repeat the parameter, or separate with commas); default every open status. Closed ones are never listed',
  })
  @IsOptional()
  @Transform(toList)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(OPEN_STATUSES.length)
  @IsIn(OPEN_STATUSES, { each: true, message: `each status must be one of ${OPEN_STATUSES.join(', ')}` })
  status?: OpenStatus[];

  @ApiPropertyOptional({ enum: MODES })
  @IsOptional()
  @IsIn(MODES)
  mode?: Mode;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page (same filters)' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  after?: string;
}
