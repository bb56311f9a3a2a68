import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';

export class SettingsDto {
  @IsOptional() @IsBoolean() recordingEnabled?: boolean;
  @IsOptional() @IsString() @MaxLength(64) timeZone?: string;
  @IsOptional() @IsInt() @Min(60) @Max(7 * 86_400) idleTimeoutSeconds?: number;
  @IsOptional() @IsInt() @Min(1) @Max(3650) retentionDays?: number;
  // Addition to the contract (section 8): card-data masking per company.
  @IsOptional() @IsBoolean() redactCardData?: boolean;
}

export class AgentSettingsDto {
  @IsOptional() @IsString() @MaxLength(255) name?: string;
  @IsOptional() @IsString() @MaxLength(255) login?: string;
  @IsOptional() @IsBoolean() permitRecordings?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(100) samplingPercent?: number;
}

export const PROFILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class ProfileBodyDto {
  @IsString() @IsNotEmpty() @MaxLength(1024) filenameTemplate!: string;
  @IsIn(['text', 'json', 'html']) format!: 'text' | 'json' | 'html';
  @IsOptional() @IsBoolean() sidecar?: boolean;
}

export class CreateProfileDto extends ProfileBodyDto {
  @IsString() @Matches(PROFILE_NAME_RE, { message: 'name must be letters, digits, . _ - (up to 64, not starting with a symbol)' }) name!: string;
}

export class PreviewDto {
  @IsString() @IsNotEmpty() @MaxLength(1024) filenameTemplate!: string;
  @IsIn(['text', 'json', 'html']) format!: 'text' | 'json' | 'html';
}

export class ExportTargetDto {
  @IsIn(['sftp', 'local']) type!: 'sftp' | 'local';
  @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsString() @IsNotEmpty() @MaxLength(255) host?: string;
  @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsInt() @Min(1) @Max(65535) port?: number;
  @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsString() @IsNotEmpty() @MaxLength(255) username?: string;
  @IsOptional() @IsString() @MaxLength(1024) password?: string;
  @IsOptional() @IsString() @MaxLength(16_384) privateKey?: string;
  @ValidateIf((o: ExportTargetDto) => o.type === 'sftp') @IsString() @IsNotEmpty() @MaxLength(1024) remoteDir?: string;
  @ValidateIf((o: ExportTargetDto) => o.type === 'sftp')
  @IsString()
  @Matches(/^SHA256:[A-Za-z0-9+/]{43}$/, { message: 'hostKeySha256 must be the OpenSSH form SHA256:... that ssh-keygen -lf prints' })
  hostKeySha256?: string;
}

export class RecordingQueryDto {
  @IsOptional() @IsString() @MaxLength(64) chatId?: string;
  @IsOptional() @IsIn(['recording', 'paused', 'stopped', 'suppressed', 'pending', 'delivered', 'failed']) status?: string;
  @IsOptional() @Matches(/^\d{1,4}$/, { message: 'limit must be a number' }) limit?: string;
}

export class AuditQueryDto {
  @IsOptional() @IsString() @MaxLength(64) chatId?: string;
  @IsOptional() @IsString() @MaxLength(40) from?: string;
  @IsOptional() @IsString() @MaxLength(40) to?: string;
  @IsOptional() @Matches(/^\d{1,4}$/, { message: 'limit must be a number' }) limit?: string;
}
