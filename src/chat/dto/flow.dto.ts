import { Type } from 'class-transformer';
import { IsBoolean, IsNotEmpty, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';

export class CustomerInfoDto {
  @IsOptional() @IsString() @MaxLength(255) id?: string;
  @IsOptional() @IsString() @MaxLength(255) name?: string;
}

export class CreateChatDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(255) externalId?: string;
  @IsString() @IsNotEmpty() @MaxLength(255) service!: string;
  @IsOptional() @ValidateNested() @Type(() => CustomerInfoDto) customer?: CustomerInfoDto;
  @IsOptional() @IsObject() metadata?: Record<string, unknown>;
}

export class FlowMessageDto {
  @IsString() text!: string;
  // Additions to the contract: an idempotency key for retries, and the bot's display name.
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(128) clientMsgId?: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(255) name?: string;
}

export class ConsentRequestDto {
  @IsString() @IsNotEmpty() @MaxLength(2000) prompt!: string;
}

export class ConsentDto {
  @IsBoolean() granted!: boolean;
}

export class StartRecordingDto {
  @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'profile must be a profile name (letters, digits, . _ -, up to 64)' }) profile!: string;
  @IsOptional() @IsString() @MaxLength(255) label?: string;
}

export class AssignDto {
  @IsString() @IsNotEmpty() @MaxLength(128) agentId!: string;
}

export class TransferChatDto {
  @IsString() @IsNotEmpty() @MaxLength(128) toAgentId!: string;
}

export class AbusiveDto {
  @IsString() @IsNotEmpty() @MaxLength(1000) reason!: string;
}
