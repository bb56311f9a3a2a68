import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentPrincipal, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/principal';
import { AdminSettingsService } from './admin-settings.service';
import { RecordingAdminService } from '../recording/recording-admin.service';
import { AdminService } from './admin.service';
import { ProfileAdminService } from './profile-admin.service';
import { ChatHoldService } from '../chat/chat-hold.service';
import {
  AgentSettingsDto,
  AuditQueryDto,
  ChatHoldDto,
  CreateProfileDto,
  ExportTargetDto,
  HoldDto,
  PreviewDto,
  ProfileBodyDto,
  RecordingQueryDto,
  SettingsDto,
} from './dto/admin.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin')
@UseGuards(AuthGuard)
@Roles('admin')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly companySettings: AdminSettingsService,
    private readonly profileService: ProfileAdminService,
    private readonly recordingAdmin: RecordingAdminService,
    private readonly holds: ChatHoldService,
  ) {}

  @Get('settings') settings(@CurrentPrincipal() p: Principal) {
    return this.companySettings.settings(p);
  }
  @Put('settings') putSettings(@CurrentPrincipal() p: Principal, @Body() dto: SettingsDto) {
    return this.companySettings.putSettings(p, dto);
  }

  @Get('agents') agents(@CurrentPrincipal() p: Principal) {
    return this.companySettings.agents(p);
  }
  @Get('agents/:agentId') agent(@CurrentPrincipal() p: Principal, @Param('agentId') agentId: string) {
    return this.companySettings.agent(p, agentId);
  }
  @Put('agents/:agentId') putAgent(@CurrentPrincipal() p: Principal, @Param('agentId') agentId: string, @Body() dto: AgentSettingsDto) {
    return this.companySettings.putAgent(p, agentId, dto);
  }

  @Get('profiles') profiles(@CurrentPrincipal() p: Principal) {
    return this.profileService.list(p);
  }
  @Post('profiles') createProfile(@CurrentPrincipal() p: Principal, @Body() dto: CreateProfileDto) {
    return this.profileService.create(p, dto);
  }
  @Post('profiles/preview') @HttpCode(200) preview(@CurrentPrincipal() p: Principal, @Body() dto: PreviewDto) {
    return this.profileService.preview(p, dto.filenameTemplate, dto.format);
  }
  @Get('profiles/:name') profile(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    return this.profileService.get(p, name);
  }
  @Put('profiles/:name') putProfile(@CurrentPrincipal() p: Principal, @Param('name') name: string, @Body() dto: ProfileBodyDto) {
    return this.profileService.put(p, name, dto);
  }
  @Delete('profiles/:name') @HttpCode(204) async deleteProfile(@CurrentPrincipal() p: Principal, @Param('name') name: string) {
    await this.profileService.delete(p, name);
  }

  @Get('export-target') exportTarget(@CurrentPrincipal() p: Principal) {
    return this.admin.exportTarget(p);
  }
  @Put('export-target') putExportTarget(@CurrentPrincipal() p: Principal, @Body() dto: ExportTargetDto) {
    return this.admin.putExportTarget(p, dto);
  }
  @Post('export-target/check') @HttpCode(200) checkExportTarget(@CurrentPrincipal() p: Principal) {
    return this.admin.checkExportTarget(p);
  }

  @Get('encryption-key') encryptionKey(@CurrentPrincipal() p: Principal) {
    return this.admin.encryptionKey(p);
  }
  @Delete('encryption-key') @HttpCode(200) eraseEncryptionKey(@CurrentPrincipal() p: Principal) {
    return this.admin.eraseEncryptionKey(p);
  }

  @Get('recordings') recordings(@CurrentPrincipal() p: Principal, @Query() q: RecordingQueryDto) {
    return this.recordingAdmin.list(p, q);
  }
  @Get('recordings/:id') recording(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.recordingAdmin.get(p, id);
  }
  @Post('recordings/:id/retry') @HttpCode(200) retry(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.recordingAdmin.retry(p, id);
  }

  @Get('chats/:chatId') chat(@CurrentPrincipal() p: Principal, @Param('chatId') chatId: string) {
    return this.admin.chat(p, chatId);
  }
  // Legal hold (contract section 10).
  @Put('chats/:chatId/hold')
  @ApiOkResponse({ type: ChatHoldDto })
  @ApiNotFoundResponse({ description: 'no such chat of the company' })
  putHold(@CurrentPrincipal() p: Principal, @Param('chatId') chatId: string, @Body() dto: HoldDto) {
    return this.holds.place(p, chatId, dto.reason);
  }
  @Delete('chats/:chatId/hold')
  @HttpCode(200)
  @ApiOkResponse({ type: ChatHoldDto, description: 'hold null; releasing a chat that is not held changes nothing' })
  @ApiNotFoundResponse({ description: 'no such chat of the company' })
  deleteHold(@CurrentPrincipal() p: Principal, @Param('chatId') chatId: string) {
    return this.holds.release(p, chatId);
  }
  @Get('audit') auditLog(@CurrentPrincipal() p: Principal, @Query() q: AuditQueryDto) {
    return this.admin.auditLog(p, q);
  }
}
