/**
 * Request bodies and path parameters of the supervisor API. The global ValidationPipe refuses
 * unknown fields, so every accepted field is declared here; the OpenAPI document is built from the
 * same classes. A reassignment takes the agent API's TransferDto (same target shape).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { AGENT_ID_PATTERN, QUEUE_ID_PATTERN } from '@app/contracts';


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
