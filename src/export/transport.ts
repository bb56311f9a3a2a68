import { createHash, Hash } from 'node:crypto';
import { DeliveryFailure } from './delivery-failure';
import { ExportTargetConfig } from './export-target.types';

export type DeliveryResult = 'delivered' | 'already_present';

// A delivery failure that retrying cannot fix (a different file already holds the name).
export class PermanentDeliveryError extends Error implements DeliveryFailure {
  readonly permanent = true;
  readonly code = 'refused_by_target';
}

// The bytes streamed for upload differ from those measured first (the transcript changed between
// the two passes): the upload is discarded and the delivery retried.
export class ContentChangedError extends Error {}

export interface DeliveryFile {
  companyId: string;
  relPath: string; // validated relative path with '/' separators
  // The body as chunks, read once per upload: called again for each attempt. Never held whole.
  content: () => AsyncIterable<Buffer>;
  bytes: number;
  sha256: string; // of the body, known before the upload (a first pass measured it)
  tempTag: string; // unique per recording: names the temporary upload
  // content() gives back the very bytes the first pass measured (kept in memory, or in the worker's
  // private spool file): the upload counts them but does not hash them again. Otherwise (a body
  // rendered again) every byte is hashed on its way and compared with sha256.
  replayed?: boolean;
}

/** A file whose body is already in memory (sidecars, probes, tests). */
export function bufferFile(f: Omit<DeliveryFile, 'content' | 'bytes' | 'sha256'>, body: Buffer | string): DeliveryFile {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    ...f,
    content: async function* () {
      yield buf;
    },
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
  };
}

/**
 * The temporary name of an upload, in the final name's folder: fixed-length (a hash of the
 * recording's tag and the file's path), so it fits wherever the final name fits, and unique per
 * recording and file. It starts with "." and ends with ".part".
 */
export function temporaryName(f: Pick<DeliveryFile, 'tempTag' | 'relPath'>): string {
  return `.${createHash('sha256').update(`${f.tempTag}\n${f.relPath}`).digest('hex').slice(0, 32)}.part`;
}

/** The temporary upload's path relative to the target folder: `temporaryName` in the final name's folder. */
export function temporaryPath(f: Pick<DeliveryFile, 'tempTag' | 'relPath'>): string {
  const slash = f.relPath.lastIndexOf('/');
  return f.relPath.slice(0, slash + 1) + temporaryName(f);
}

/**
 * Yields the file's chunks while hashing and counting them (a replayed body: counting only);
 * `check()` then compares with what was announced.
 */
export function measuredContent(f: DeliveryFile): { chunks: AsyncIterable<Buffer>; check(): void } {
  const hash: Hash | null = f.replayed ? null : createHash('sha256');
  let bytes = 0;
  return {
    chunks: (async function* () {
      for await (const chunk of f.content()) {
        hash?.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    })(),
    check() {
      const sha256 = hash ? hash.digest('hex') : f.sha256;
      if (bytes !== f.bytes || sha256 !== f.sha256) {
        throw new ContentChangedError(`the content of ${f.relPath} changed while it was delivered (${bytes} bytes, expected ${f.bytes})`);
      }
    },
  };
}

// Uploads land under a temporary name in the target folder and are then renamed, so the
// recording platform never sees a partial file. An existing final file with the same content
// counts as delivered; with other content it is never overwritten. Files are put in place one
// after another in the order given: each is renamed into place before the next one is uploaded
// (a manifest given last appears only once every other file of its set is there).
// remove() takes delivered files away again (an erasure): per file, in order. A failure to reach
// the target throws (the caller retries the batch); a file that cannot be removed is `failed`.
export abstract class DeliveryTransport {
  abstract deliver(target: ExportTargetConfig, files: DeliveryFile[]): Promise<DeliveryResult[]>;
  abstract check(target: ExportTargetConfig, companyId: string): Promise<void>;
  abstract remove(target: ExportTargetConfig, companyId: string, relPaths: string[]): Promise<RemovalResult[]>;
  // Which place on which server the company's files go to under this target, as a fingerprint
  // (to tell later whether the target still points there) and a label without secrets.
  abstract placeOf(target: ExportTargetConfig, companyId: string): TargetPlace;
  // A hint that files for this target come soon (a large body is being rendered): a transport may
  // get ready meanwhile (connect). Never throws; a failure is met and reported by deliver().
  warm(_target: ExportTargetConfig): void {}
}

export type RemovalResult = { outcome: 'removed' | 'not_found' } | { outcome: 'failed'; error: string };

export interface TargetPlace {
  fingerprint: string;
  label: string;
}
