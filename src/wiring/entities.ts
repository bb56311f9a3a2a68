import { AuditEntity } from '../audit/audit.entity';
import { ChatEventEntity } from '../chat/chat-event.entity';
import { ChatEntity } from '../chat/chat.entity';
import { MessageEntity } from '../chat/message.entity';
import { ParticipantEntity } from '../chat/participant.entity';
import { AgentEntity } from '../company/agent.entity';
import { CompanyEntity } from '../company/company.entity';
import { ErasureChatEntity } from '../erasure/erasure-chat.entity';
import { ErasureFileEntity } from '../erasure/erasure-file.entity';
import { ErasureNoticeEntity } from '../erasure/erasure-notice.entity';
import { ErasureEntity } from '../erasure/erasure.entity';
import { DeliveryJobEntity } from '../export/delivery-job.entity';
import { ExportTargetEntity } from '../export/export-target.entity';
import { DeliveredFileEntity } from '../recording/delivered-file.entity';
import { ManifestChainEntity } from '../recording/manifest-chain.entity';
import { RecordingSegmentEntity } from '../recording/recording-segment.entity';
import { RecordingEntity } from '../recording/recording.entity';
import { CompanyKeyEntity } from '../security/company-key.entity';
import { ServiceKeyEntity } from '../security/service-key.entity';
import { SigningKeyEntity } from '../security/signing-key.entity';
import { ProfileEntity } from '../transcript/profile.entity';

export const ENTITIES = [
  CompanyEntity,
  AgentEntity,
  ProfileEntity,
  ExportTargetEntity,
  ChatEntity,
  MessageEntity,
  ChatEventEntity,
  ParticipantEntity,
  RecordingEntity,
  RecordingSegmentEntity,
  DeliveryJobEntity,
  AuditEntity,
  CompanyKeyEntity,
  ServiceKeyEntity,
  ManifestChainEntity,
  SigningKeyEntity,
  DeliveredFileEntity,
  ErasureEntity,
  ErasureChatEntity,
  ErasureFileEntity,
  ErasureNoticeEntity,
];
