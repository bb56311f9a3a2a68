import { IsBoolean, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { AppException } from '../../common/app.exception';
import { cardNumberMessage, isWellFormed, IsWellFormed, NoCardNumber } from '../../common/validators';
import { containsCardNumber } from '../../common/redact-card-data';
import type { AgentMessagePayload, ChatRefPayload, ConsentAnswerPayload, CustomerMessagePayload, FlagAbusivePayload, TransferPayload } from '../client-events';

// Socket payloads (contract section 3). Text length is checked against the configured limit by the
// handler, so that the refusal names the configured number.
// Each DTO implements the payload type of client-events.ts, which the client library sends.
// clientMsgId may hold a card number (a millisecond clock's 13 digits pass Luhn one time in ten):
// it is never stored as it is (ChatMessagesService), so it is not refused.
export class CustomerMessageDto implements CustomerMessagePayload {
  @IsString() @IsNotEmpty() @MaxLength(128) @IsWellFormed() clientMsgId!: string;
  @IsString() text!: string;
}

export class ChatRefDto implements ChatRefPayload {
  @IsString() @IsNotEmpty() @MaxLength(64) @IsWellFormed() @NoCardNumber() chatId!: string;
}

export class AgentMessageDto extends ChatRefDto implements AgentMessagePayload {
  @IsString() @IsNotEmpty() @MaxLength(128) @IsWellFormed() clientMsgId!: string;
  @IsString() text!: string;
}

export class ConsentAnswerDto implements ConsentAnswerPayload {
  @IsBoolean() granted!: boolean;
}

export class FlagAbusiveDto extends ChatRefDto implements FlagAbusivePayload {
  @IsString() @IsNotEmpty() @MaxLength(1000) reason!: string;
}

export class TransferDto extends ChatRefDto implements TransferPayload {
  @IsString() @IsNotEmpty() @MaxLength(128) @IsWellFormed() @NoCardNumber() toAgentId!: string;
}

export class EmptyDto {}

// Hand-written equivalents of the message DTOs for the hot path: the same rules and messages as the
// decorators above (class-validator costs several times more per call).
function field(o: Record<string, unknown>, name: string, max: number, required = true, refuseCardNumber = true): string {
  const v = o[name];
  if (typeof v !== 'string') throw AppException.badRequest(`${name} must be a string`);
  if (required && v.length === 0) throw AppException.badRequest(`${name} should not be empty`);
  if (v.length > max) throw AppException.badRequest(`${name} must be shorter than or equal to ${max} characters`);
  if (max !== Infinity && !isWellFormed(v)) throw AppException.badRequest(`${name} must be well-formed text (no lone surrogates)`);
  // Identifiers (every bounded field here but clientMsgId) are refused, never masked.
  if (max !== Infinity && refuseCardNumber && containsCardNumber(v)) throw AppException.badRequest(cardNumberMessage(name));
  return v;
}

function asObject(payload: unknown): Record<string, unknown> {
  if (payload === undefined || payload === null) return {};
  if (typeof payload !== 'object' || Array.isArray(payload)) throw AppException.badRequest('payload must be an object');
  return payload as Record<string, unknown>;
}

export function parseCustomerMessage(payload: unknown): CustomerMessageDto {
  const o = asObject(payload);
  return Object.assign(new CustomerMessageDto(), { clientMsgId: field(o, 'clientMsgId', 128, true, false), text: field(o, 'text', Infinity, false) });
}

export function parseAgentMessage(payload: unknown): AgentMessageDto {
  const o = asObject(payload);
  return Object.assign(new AgentMessageDto(), {
    chatId: field(o, 'chatId', 64),
    clientMsgId: field(o, 'clientMsgId', 128, true, false),
    text: field(o, 'text', Infinity, false),
  });
}
