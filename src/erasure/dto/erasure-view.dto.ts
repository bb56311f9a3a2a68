import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// The response shapes of contract section 10, for the OpenAPI document only.

export class ErasureAcceptedDto {
  @ApiProperty({ format: 'uuid' }) erasureId!: string;
  @ApiProperty({ enum: ['running', 'done', 'partial'] }) status!: 'running' | 'done' | 'partial';
}

class ErasureChatDto {
  @ApiProperty() chatId!: string;
  @ApiProperty({ enum: ['erased', 'held'] }) action!: 'erased' | 'held';
}

class ErasureFileDto {
  @ApiProperty({ format: 'uuid' }) recordingId!: string;
  @ApiProperty({ description: 'as delivered, relative to the target folder' }) name!: string;
  @ApiProperty({ enum: ['removed', 'not_found', 'failed'] }) action!: 'removed' | 'not_found' | 'failed';
  @ApiPropertyOptional({ description: 'only when failed: the reason, without secrets' }) error?: string;
}

class ErasureNoticeDto {
  @ApiProperty({ description: 'the target, without secrets (sftp://user@host:port/dir, or the local folder)' }) target!: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] }) state!: 'pending' | 'delivered' | 'failed';
  @ApiPropertyOptional() error?: string;
}

export class ErasureStatusDto {
  @ApiProperty({ format: 'uuid' }) erasureId!: string;
  @ApiProperty({ enum: ['running', 'done', 'partial'] }) status!: 'running' | 'done' | 'partial';
  @ApiProperty({ format: 'date-time' }) requestedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt!: string | null;
  @ApiProperty({ type: [ErasureChatDto], description: 'each covered chat once it is settled' }) chats!: ErasureChatDto[];
  @ApiProperty({ type: [ErasureFileDto], description: 'each delivered file once it was tried' }) files!: ErasureFileDto[];
  @ApiProperty({ type: [ErasureNoticeDto], description: 'an addition to the contract: the notice erasures/<erasureId>.json per target' })
  notices!: ErasureNoticeDto[];
}
