import { ExportTargetConfig } from './export-target.types';

export type DeliveryResult = 'delivered' | 'already_present';

// A delivery failure that retrying cannot fix (a different file already holds the name).
export class PermanentDeliveryError extends Error {}

export interface DeliveryFile {
  companyId: string;
  relPath: string; // validated relative path with '/' separators
  content: Buffer;
  sha256: string;
  tempTag: string; // unique per recording: names the temporary upload
}

// Uploads land under a temporary name in the target folder and are then renamed, so the
// recording platform never sees a partial file. An existing final file with the same content
// counts as delivered; with other content it is never overwritten.
export abstract class DeliveryTransport {
  abstract deliver(target: ExportTargetConfig, files: DeliveryFile[]): Promise<DeliveryResult[]>;
  abstract check(target: ExportTargetConfig, companyId: string): Promise<void>;
}
