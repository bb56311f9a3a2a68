import { IsBoolean, IsNotEmpty, IsString, MaxLength } from 'class-validator';

// Socket payloads (contract section 3). Text length is checked against the configured limit by the
// handler, so that the refusal names the configured number.
export class CustomerMessageDto {
  @IsString() @IsNotEmpty() @MaxLength(128) clientMsgId!: string;
  @IsString() text!: string;
}

export class ChatRefDto {
  @IsString() @IsNotEmpty() @MaxLength(64) chatId!: string;
}

export class AgentMessageDto extends ChatRefDto {
  @IsString() @IsNotEmpty() @MaxLength(128) clientMsgId!: string;
  @IsString() text!: string;
}

export class ConsentAnswerDto {
  @IsBoolean() granted!: boolean;
}

export class FlagAbusiveDto extends ChatRefDto {
  @IsString() @IsNotEmpty() @MaxLength(1000) reason!: string;
}

export class TransferDto extends ChatRefDto {
  @IsString() @IsNotEmpty() @MaxLength(128) toAgentId!: string;
}

export class EmptyDto {}
