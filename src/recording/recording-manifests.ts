import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { DeliveryFailureError } from '../export/delivery-failure';
import { SigningKeyService } from '../security/signing-keys.service';
import { manifestFilename } from '../transcript/filename-template';
import { buildManifest, ManifestFile, parseManifest, sha256Hex } from '../transcript/recording-manifest';
import { RenderedFile } from '../transcript/recording-renderer';
import { RecordingSnapshot } from '../transcript/recording-snapshot';
import { RecordingRepository } from './recording.repository';
import { RecordingEntity } from './recording.entity';

// The signed manifest of a recording whose profile asks for one. It is built once, in one
// transaction that locks the recording row and the company's chain row: its
// previousManifestSha256 is the company's last manifest, and it is stored with the recording, so
// every later attempt delivers the very same bytes.
@Injectable()
export class RecordingManifests {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly recordings: RecordingRepository,
    private readonly keys: SigningKeyService,
  ) {}

  // The manifest file for the recording's rendered files (the manifest itself not among them).
  async manifestFor(rec: RecordingEntity, snapshot: RecordingSnapshot, fileName: string, files: RenderedFile[]): Promise<RenderedFile> {
    const listed: ManifestFile[] = files.map((f) => ({ name: f.name, bytes: f.bytes, sha256: f.sha256 }));
    const name = manifestFilename(fileName, snapshot.profile.format);
    const stored = await this.recordings.find(rec.id);
    const bytes = stored?.manifestJson ? Buffer.from(stored.manifestJson, 'utf8') : await this.build(rec, snapshot, listed);
    const manifest = parseManifest(bytes);
    // The same recording is never delivered twice with different content: a file that no longer
    // renders as it did when the manifest was signed stops the delivery.
    if (JSON.stringify(manifest.files) !== JSON.stringify(listed)) {
      throw new DeliveryFailureError(true, 'manifest_mismatch', `the files of recording ${rec.id} no longer match its signed manifest`);
    }
    return {
      name,
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      content: async function* () {
        yield bytes;
      },
      replayed: true,
    };
  }

  private async build(rec: RecordingEntity, snapshot: RecordingSnapshot, files: ManifestFile[]): Promise<Buffer> {
    // The key first: no lock is held while it loads.
    const signer = await this.keys.signer();
    const json = await this.db.transaction(async (m) => {
      const already = await this.recordings.lockManifest(m, rec.id);
      if (already) return already;
      const now = this.clock.now();
      const previous = await this.recordings.lockManifestChain(m, rec.companyId, now);
      const bytes = buildManifest(
        {
          recordingId: rec.id,
          chatId: rec.chatId,
          companyId: rec.companyId,
          files,
          chainHead: snapshot.chainHead,
          previousManifestSha256: previous,
          createdAt: now.toISOString(),
        },
        signer,
      );
      const text = bytes.toString('utf8');
      await this.recordings.storeManifest(m, rec.id, text);
      await this.recordings.advanceManifestChain(m, rec.companyId, sha256Hex(bytes), rec.id, now);
      return text;
    });
    return Buffer.from(json, 'utf8');
  }
}
