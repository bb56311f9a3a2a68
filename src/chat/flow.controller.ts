import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { CurrentPrincipal, AuthGuard, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { redactCardData } from '../common/redact-card-data';
import { AppConfig } from '../config/app-config';
import { actorOf } from './actor';
import { ChatCreationService } from './chat-creation.service';
import { ChatLifecycleService } from './chat-lifecycle.service';
import { ChatMessagesService } from './chat-messages.service';
import { RecordingControlsService } from './recording-controls.service';
import { checkText } from './message-text';
import { AbusiveDto, AssignDto, ConsentDto, ConsentRequestDto, CreateChatDto, FlowMessageDto, StartRecordingDto, TransferChatDto } from './dto/flow.dto';
import { isoTime } from '../common/clock';

const CHAT_ID = 'chatId';

// The chat flow's REST side (contract section 2).
@ApiTags('flow')
@ApiBearerAuth()
@Controller('v1/flow/chats')
@UseGuards(AuthGuard)
@Roles('flow')
export class FlowController {
  constructor(
    private readonly creation: ChatCreationService,
    private readonly chats: ChatLifecycleService,
    private readonly messages: ChatMessagesService,
    private readonly controls: RecordingControlsService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@CurrentPrincipal() p: Principal, @Body() dto: CreateChatDto) {
    const { chatId, customerToken } = await this.creation.create(p, dto);
    return { chatId, customerToken };
  }

  @Post(':chatId/messages')
  @HttpCode(201)
  async message(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: FlowMessageDto) {
    checkText(dto.text, this.config.maxMessageLength);
    await this.chats.find(p.company, chatId);
    // The bot's name is free text: masked like the token's name (contract section 8).
    const name = dto.name === undefined ? (p.name ?? 'Bot') : redactCardData(dto.name);
    const stored = await this.messages.postMessage({ ...p, name }, chatId, dto.clientMsgId ?? null, dto.text);
    return { seq: stored.seq, at: isoTime(stored.at) };
  }

  @Post(':chatId/consent/request')
  @HttpCode(200)
  async consentRequest(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: ConsentRequestDto) {
    await this.controls.requestConsent(p, chatId, dto.prompt);
    return { ok: true };
  }

  @Post(':chatId/consent')
  @HttpCode(200)
  async consent(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: ConsentDto) {
    await this.controls.answerConsent(p, chatId, dto.granted);
    return { ok: true };
  }

  @Post(':chatId/recordings')
  @HttpCode(201)
  async startRecording(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: StartRecordingDto) {
    return { recordingId: await this.controls.startRecording(p, chatId, dto.profile, dto.label ?? null) };
  }

  @Post(':chatId/recordings/:recordingId/stop')
  @HttpCode(200)
  async stopRecording(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Param('recordingId') recordingId: string) {
    await this.controls.stopRecording(p, chatId, recordingId);
    return { ok: true };
  }

  @Post(':chatId/assign')
  @HttpCode(200)
  async assign(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: AssignDto) {
    await this.chats.assign(p, chatId, dto.agentId);
    return { ok: true };
  }

  @Post(':chatId/transfer')
  @HttpCode(200)
  async transfer(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: TransferChatDto) {
    await this.chats.transfer(p, chatId, dto.toAgentId);
    return { ok: true };
  }

  @Post(':chatId/abusive')
  @HttpCode(200)
  async abusive(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string, @Body() dto: AbusiveDto) {
    await this.controls.flagAbusive(p, chatId, dto.reason);
    return { ok: true };
  }

  @Post(':chatId/discard')
  @HttpCode(200)
  async discard(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string) {
    await this.controls.discard(p, chatId);
    return { ok: true };
  }

  @Post(':chatId/end')
  @HttpCode(200)
  async end(@CurrentPrincipal() p: Principal, @Param(CHAT_ID) chatId: string) {
    await this.chats.end(p.company, chatId, actorOf(p), 'flow');
    return { ok: true };
  }
}
