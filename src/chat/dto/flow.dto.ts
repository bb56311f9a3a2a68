import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsWellFormed, MaxJsonLength, NoCardNumber, NoCardNumberInKeys } from '../../common/validators';
import { IsBoolean, IsNotEmpty, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';

export class CustomerInfoDto {
  // The customer token's sub: a customer id the token could not carry would lock the customer out.
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(255) @IsWellFormed() @NoCardNumber() id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(255) name?: string;
}

export class CreateChatDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(255) @IsWellFormed() @NoCardNumber() externalId?: string;
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(255) @NoCardNumber() service!: string;
  @ApiPropertyOptional({ type: () => CustomerInfoDto }) @IsOptional() @ValidateNested() @Type(() => CustomerInfoDto) customer?: CustomerInfoDto;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() @MaxJsonLength(16_000) @NoCardNumberInKeys() metadata?: Record<
    string,
    unknown
  >;
}

export class FlowMessageDto {
  @ApiProperty() @IsString() text!: string;
  // Additions to the contract: an idempotency key for retries, and the bot's display name.
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(128) @IsWellFormed() clientMsgId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(255) name?: string;
}

export class ConsentRequestDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(2000) prompt!: string;
}

export class ConsentDto {
  @ApiProperty() @IsBoolean() granted!: boolean;
}

export class StartRecordingDto {
  @ApiProperty()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'profile must be a profile name (letters, digits, . _ -, up to 64)' })
  profile!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(255) label?: string;
}

export class AssignDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(128) @IsWellFormed() @NoCardNumber() agentId!: string;
}

export class TransferChatDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(128) @IsWellFormed() @NoCardNumber() toAgentId!: string;
}

export class AbusiveDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(1000) reason!: string;
}
