import { createHash } from 'node:crypto';
import { deliverableFilename, FilenameValues, sidecarFilename, suffixedFilename } from './filename-template';
import { RecordingSnapshot } from './recording-snapshot';
import { EntryCounts, renderMetadataSidecarOf, renderTranscriptStream, TranscriptEntry, TranscriptHeader } from './transcript-renderer';

// A body up to this size is kept from the measuring pass and replayed from memory; a larger one is
// written to the spool while it is measured and read back from there for each upload attempt.
export const KEPT_BODY_BYTES = 1024 * 1024;

export interface RenderedFile {
  name: string;
  bytes: number;
  sha256: string;
  // The body as chunks, produced again on each call; never held whole when large.
  content: () => AsyncIterable<Buffer>;
  // content() gives back the bytes measured (from memory or the spool), not a new render.
  replayed?: boolean;
  // Frees what the body holds (its spool file) once its delivery attempt is over; idempotent.
  discard?: () => Promise<void>;
}

/** Where a large body is kept between its measuring pass and its uploads (DeliverySpool). */
export interface BodySpool {
  create(): Promise<SpooledBody>;
}

export interface SpooledBody {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
  read(): AsyncIterable<Buffer>;
  remove(): Promise<void>;
}

// The name the snapshot renders to (before any de-duplication): missing values are spelt "none",
// long ones cut, and room is left for the sidecar's extension.
export function recordingFileName(s: RecordingSnapshot): string {
  return deliverableFilename(s.profile.filenameTemplate, fileNameValues(s), s.timeZone, s.profile.format, {
    sidecar: s.profile.sidecar,
    manifest: s.profile.manifest,
  });
}

// The same name with a suffix before its extension, cut so that it and its sidecar's still fit.
export function suffixedRecordingFileName(s: RecordingSnapshot, fileName: string, suffix: string): string {
  return suffixedFilename(fileName, suffix, s.profile.format, { sidecar: s.profile.sidecar, manifest: s.profile.manifest });
}

// The files of a recording under `fileName`: the sidecar (when the profile asks for one) first,
// the body last. One streaming pass measures the body (sha256, bytes, entry counts) for the
// sidecar and the transports' checks; `content` replays a small body from memory and a large one
// from the spool (without a spool, or when it fails, a large body is rendered again). A spooled
// body's file lives until `discard`, which the caller owes once the delivery attempt is over.
// The measuring pass's chunks: each is one write to the spool, and a write's completion waits for
// a turn of the event loop, so a large body goes in few, large writes (at most ~1.5 MB each).
export const MEASURE_CHUNK_CHARS = 512 * 1024;

// `name`: the file name, or where to get it once the measuring pass is over (and has gone through
// every entry without failing).
export async function renderRecording(s: RecordingSnapshot, name: string | (() => Promise<string>), spool?: BodySpool): Promise<RenderedFile[]> {
  const header = transcriptHeader(s);
  const format = s.profile.format;
  const counts: EntryCounts = { messages: 0, markers: 0 };
  async function* counted(): AsyncGenerator<TranscriptEntry> {
    for await (const e of s.entries()) {
      if (e.type === 'message') counts.messages++;
      else counts.markers++;
      yield e;
    }
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const kept = new KeptBody(spool);
  let fileName: string;
  try {
    for await (const chunk of renderTranscriptStream(format, header, counted(), MEASURE_CHUNK_CHARS)) {
      hash.update(chunk);
      bytes += chunk.length;
      await kept.add(chunk, bytes);
    }
    await kept.finish();
    fileName = typeof name === 'string' ? name : await name();
  } catch (err) {
    await kept.discard();
    throw err;
  }
  const sha256 = hash.digest('hex');
  const replay = kept.content();
  const body: RenderedFile = {
    name: fileName,
    bytes,
    sha256,
    content: replay ?? (() => renderTranscriptStream(format, header, s.entries())),
    replayed: replay !== null,
    discard: () => kept.discard(),
  };
  if (!s.profile.sidecar) return [body];
  return [bufferedFile(sidecarFilename(fileName, format), renderMetadataSidecarOf(header, counts, { fileName, format, sha256, bytes })), body];
}

// What the measuring pass keeps of a body: its chunks while it is small, else the spool file.
class KeptBody {
  private chunks: Buffer[] | null = [];
  private spooled: SpooledBody | null = null;
  private spoolFailed = false;

  constructor(private readonly spool: BodySpool | undefined) {}

  async add(chunk: Buffer, bytesSoFar: number): Promise<void> {
    if (this.chunks && bytesSoFar <= KEPT_BODY_BYTES) {
      this.chunks.push(chunk);
      return;
    }
    const earlier = this.chunks ?? [];
    this.chunks = null;
    if (!this.spool || this.spoolFailed) return;
    try {
      this.spooled ??= await this.spool.create();
      for (const c of earlier) await this.spooled.write(c);
      await this.spooled.write(chunk);
    } catch {
      // A full or unusable spool costs speed only: the body is rendered again for upload.
      await this.dropSpool();
    }
  }

  async finish(): Promise<void> {
    try {
      await this.spooled?.close();
    } catch {
      await this.dropSpool();
    }
  }

  // null: the body must be rendered again for each upload.
  content(): (() => AsyncIterable<Buffer>) | null {
    const small = this.chunks;
    if (small) {
      return async function* (): AsyncGenerator<Buffer> {
        yield* small;
      };
    }
    const spooled = this.spooled;
    return spooled ? () => spooled.read() : null;
  }

  async discard(): Promise<void> {
    await this.spooled?.remove();
  }

  private async dropSpool(): Promise<void> {
    this.spoolFailed = true;
    const s = this.spooled;
    this.spooled = null;
    await s?.remove();
  }
}

function bufferedFile(name: string, buf: Buffer): RenderedFile {
  return {
    name,
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    content: async function* () {
      yield buf;
    },
    replayed: true,
  };
}

function transcriptHeader(s: RecordingSnapshot): TranscriptHeader {
  const { recording: r, chat } = s;
  return {
    chatId: chat.id,
    externalId: chat.externalId,
    companyId: chat.companyId,
    service: chat.service,
    timeZone: s.timeZone,
    recording: { id: r.id, name: r.profileName, label: r.label, kind: r.kind, startedAt: r.startedAt, endedAt: r.endedAt },
    agents: s.agents,
    customer: { id: chat.customerId, name: chat.customerName },
    chatStartedAt: chat.startedAt,
    chatEndedAt: chat.endedAt ?? r.endedAt,
    outcome: { reason: r.outcomeReason, detail: r.outcomeDetail },
    consent: s.consent,
  };
}

function fileNameValues(s: RecordingSnapshot): FilenameValues {
  const { recording: r, chat } = s;
  const agent = s.agents[0];
  return {
    chatId: chat.id,
    externalId: chat.externalId,
    companyId: chat.companyId,
    service: chat.service,
    recordingId: r.id,
    recordingName: r.profileName,
    label: r.label,
    agentId: r.agentId ?? agent?.id ?? null,
    // The admin's agent settings first, else what the token said.
    agentLogin: agent?.login ?? agent?.id ?? null,
    agentName: agent?.name ?? null,
    customerId: chat.customerId,
    customerName: chat.customerName,
    startedAt: chat.startedAt,
    endedAt: chat.endedAt,
    recordingStartedAt: r.startedAt,
  };
}
