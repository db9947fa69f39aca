/**
 * Request bodies and path parameters of the admin API: a queue's and an agent's configuration, in
 * the fields and with the defaults the seed file uses (scripts/lib/seed.ts). A PUT replaces the
 * whole configuration, so a field left out takes its default and a nullable one becomes null.
 * Business hours are checked by the same zod schema the router evaluates them with.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { AGENT_ID_PATTERN, businessHoursSchema, QUEUE_ID_PATTERN, CHANNELS, type BusinessHours, type Channel } from '@app/contracts';

/** Postgres `integer`: a larger number would fail in the database instead of here. */
const INT_MAX = 2_147_483_647;

@ValidatorConstraint({ name: 'businessHours' })
class BusinessHoursConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return businessHoursSchema.safeParse(value).success;
  }

  defaultMessage(args: ValidationArguments): string {
    const result = businessHoursSchema.safeParse(args.value);
    const issues = result.success ? [] : result.error.issues;
    return issues.map((issue) => [args.property, ...issue.path].join('.') + `: ${issue.message}`).join('; ');
  }
}

export class QueueParams {
  @ApiProperty({ pattern: QUEUE_ID_PATTERN.source })
  @Matches(QUEUE_ID_PATTERN, { message: 'queue id must be 1–64 letters, digits, . _ or -' })
  id!: string;
}

export class AgentParams {
  @ApiProperty({ pattern: AGENT_ID_PATTERN.source })
  @Matches(AGENT_ID_PATTERN, { message: 'agent id must be 1–64 letters, digits, _ or -' })
  id!: string;
}

export class QueueDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ enum: CHANNELS, isArray: true, default: [], description: 'New conversations on these channels join this queue' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(CHANNELS.length)
  @IsIn(CHANNELS, { each: true })
  channels?: Channel[];

  @ApiPropertyOptional({ type: [String], default: [], description: 'Skills an agent needs to be offered this queue\'s work' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(64, { each: true })
  requiredSkills?: string[];

  @ApiPropertyOptional({ type: 'integer', default: 0 })
  @IsOptional()
  @IsInt()
  @Min(-INT_MAX)
  @Max(INT_MAX)
  basePriority?: number;

  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, default: 1, description: 'Priority gained per minute of waiting' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  agingPerMinute?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, nullable: true, description: 'null = the global default' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  syncCap?: number | null;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, nullable: true, description: 'null = the global default' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  asyncCap?: number | null;

  @ApiPropertyOptional({ nullable: true, description: 'Whether held live work stops async offers; null = the global default' })
  @IsOptional()
  @IsBoolean()
  syncBlocksAsync?: boolean | null;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 20 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  offerTimeoutS?: number;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  autoAccept?: boolean;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(INT_MAX)
  wrapUpS?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, nullable: true, description: 'null = wait without limit' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  maxWaitS?: number | null;

  @ApiPropertyOptional({ pattern: QUEUE_ID_PATTERN.source, nullable: true, description: 'Where work past the max wait goes; another queue of this tenant' })
  @IsOptional()
  @Matches(QUEUE_ID_PATTERN, { message: 'overflowQueueId must be 1–64 letters, digits, . _ or -' })
  overflowQueueId?: string | null;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  downgradeToAsync?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description: 'null = always open',
    example: { timeZone: 'Europe/Berlin', weekly: { mon: [['09:00', '17:00']] }, holidays: ['2026-12-25'] },
  })
  @IsOptional()
  @Validate(BusinessHoursConstraint)
  businessHours?: BusinessHours | null;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 604_800 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(INT_MAX)
  reopenWindowS?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 604_800 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(INT_MAX)
  stickyWindowS?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 300 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(INT_MAX)
  offlineGraceS?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 3_600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  expectedReplyS?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 60 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  noticeIntervalS?: number;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  botFirst?: boolean;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 30 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(INT_MAX)
  botTimeoutS?: number;
}

/** Configuration only: presence and held-work counters belong to the router and are never set here. */
export class AgentDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ type: [String], default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(64, { each: true })
  skills?: string[];

  @ApiPropertyOptional({ type: [String], maxItems: 100, default: [], description: 'Queues of this tenant the agent serves' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(QUEUE_ID_PATTERN, { each: true, message: 'each queue id must be 1–64 letters, digits, . _ or -' })
  queueIds?: string[];

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, nullable: true, description: "null = its queues' cap, else the global default" })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  syncCap?: number | null;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, nullable: true, description: "null = its queues' cap, else the global default" })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  asyncCap?: number | null;

  @ApiPropertyOptional({ nullable: true, description: 'Whether held live work stops async offers; null = the queue or global default' })
  @IsOptional()
  @IsBoolean()
  syncBlocksAsync?: boolean | null;
}
