import { InitialSchema1795289551013 } from './1795289551013-initial-schema';
import { Retention1795292000000 } from './1795292000000-retention';
import { CompanyKeys1795292141257 } from './1795292141257-company-keys';
import { BinaryIdentifiers1795293600000 } from './1795293600000-binary-identifiers';
import { ServiceKeys1795300000000 } from './1795300000000-service-keys';
import { ResendSenderRole1795320000000 } from './1795320000000-resend-sender-role';
import { RetentionByCompany1795320000001 } from './1795320000001-retention-by-company';
import { SegmentsSwitchSnapshot1795330000000 } from './1795330000000-segments-switch-snapshot';
import { MessageChain1795340000000 } from './1795340000000-message-chain';
import { Manifests1795340000100 } from './1795340000100-manifests';
import { ErasureAndHold1795340000200 } from './1795340000200-erasure-and-hold';
import { AgentTokenIdentity1795350000000 } from './1795350000000-agent-token-identity';
import { FileSetKeys1795360000000 } from './1795360000000-file-set-keys';

// Listed explicitly (no globs) so the compiled app and the CLI load exactly these, in order.
export const MIGRATIONS = [
  InitialSchema1795289551013,
  Retention1795292000000,
  CompanyKeys1795292141257,
  BinaryIdentifiers1795293600000,
  ServiceKeys1795300000000,
  ResendSenderRole1795320000000,
  RetentionByCompany1795320000001,
  SegmentsSwitchSnapshot1795330000000,
  MessageChain1795340000000,
  Manifests1795340000100,
  ErasureAndHold1795340000200,
  AgentTokenIdentity1795350000000,
  FileSetKeys1795360000000,
];
