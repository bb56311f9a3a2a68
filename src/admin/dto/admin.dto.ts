import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NoCardNumber } from '../../common/validators';
import { TRANSCRIPT_FORMATS } from '../../transcript/filename-template';
import type { TranscriptFormat } from '../../transcript/filename-template';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';

export class SettingsDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() recordingEnabled?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) timeZone?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(5) @Max(7 * 86_400) idleTimeoutSeconds?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(3650) retentionDays?: number;
  // Addition to the contract (section 8): card-data masking per company.
  @ApiPropertyOptional() @IsOptional() @IsBoolean() redactCardData?: boolean;
}

export class AgentSettingsDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(255) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(255) @NoCardNumber() login?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() permitRecordings?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100) samplingPercent?: number;
}

export const PROFILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class ProfileBodyDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(1024) filenameTemplate!: string;
  @ApiProperty({ enum: TRANSCRIPT_FORMATS }) @IsIn(TRANSCRIPT_FORMATS) format!: TranscriptFormat;
  @ApiPropertyOptional({ description: 'whether a .json metadata sidecar goes with the file' }) @IsOptional() @IsBoolean() sidecar?: boolean;
  // Accepted as another name for `sidecar`.
  @ApiPropertyOptional({ description: 'alias of sidecar' }) @IsOptional() @IsBoolean() metadataSidecar?: boolean;
  @ApiPropertyOptional({ description: 'whether a signed <name>.manifest.json is delivered last (default false; docs/integrity.md)' })
  @IsOptional()
  @IsBoolean()
  manifest?: boolean;
}

export class CreateProfileDto extends ProfileBodyDto {
  @ApiProperty()
  @IsString()
  @Matches(PROFILE_NAME_RE, { message: 'name must be letters, digits, . _ - (up to 64, not starting with a symbol)' })
  @NoCardNumber()
  name!: string;
}

export class PreviewDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(1024) filenameTemplate!: string;
  @ApiProperty({ enum: TRANSCRIPT_FORMATS }) @IsIn(TRANSCRIPT_FORMATS) format!: TranscriptFormat;
}

export class ExportTargetDto {
  @ApiProperty({ enum: ['sftp', 'local'] }) @IsIn(['sftp', 'local']) type!: 'sftp' | 'local';
  @ApiPropertyOptional() @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsString() @IsNotEmpty() @MaxLength(255) host?: string;
  @ApiPropertyOptional() @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsInt() @Min(1) @Max(65535) port?: number;
  @ApiPropertyOptional() @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsString() @IsNotEmpty() @MaxLength(255) username?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1024) password?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(16_384) privateKey?: string;
  @ApiPropertyOptional() @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsString() @IsNotEmpty() @MaxLength(1024) remoteDir?: string;
  @ApiPropertyOptional({ example: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' })
  @ValidateIf((o: ExportTargetDto) => o.type === 'sftp')
  @IsString()
  @Matches(/^SHA256:[A-Za-z0-9+/]{43}$/, { message: 'hostKeySha256 must be the OpenSSH form SHA256:... that ssh-keygen -lf prints' })
  hostKeySha256?: string;
}

export class RecordingQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) chatId?: string;
  @ApiPropertyOptional({ enum: ['recording', 'paused', 'stopped', 'suppressed', 'pending', 'delivered', 'failed'] })
  @IsOptional()
  @IsIn(['recording', 'paused', 'stopped', 'suppressed', 'pending', 'delivered', 'failed'])
  status?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(/^\d{1,4}$/, { message: 'limit must be a number' }) limit?: string;
}

export class AuditQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) chatId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(40) from?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(40) to?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(/^\d{1,4}$/, { message: 'limit must be a number' }) limit?: string;
}

export class HoldDto {
  @ApiProperty({ description: 'why the chat is held (up to 500 characters)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason!: string;
}

// The answer of PUT and DELETE /chats/:chatId/hold (contract section 10), for the OpenAPI document.
class HoldViewDto {
  @ApiProperty() reason!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ description: "the admin's token sub" }) by!: string;
}

export class ChatHoldDto {
  @ApiProperty() chatId!: string;
  @ApiProperty({ type: HoldViewDto, nullable: true, description: 'null when the chat is not held' }) hold!: HoldViewDto | null;
}
