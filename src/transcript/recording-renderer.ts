import { createHash } from 'node:crypto';
import { deliverableFilename, FilenameValues, sidecarFilename, suffixedFilename } from './filename-template';
import { RecordingSnapshot } from './recording-snapshot';
import { EntryCounts, renderMetadataSidecarOf, renderTranscriptStream, TranscriptEntry, TranscriptHeader } from './transcript-renderer';

// A body up to this size is kept from the measuring pass and replayed from memory (no second read
// of the database while an SFTP connection is held); a larger one is rendered again for upload.
export const KEPT_BODY_BYTES = 1024 * 1024;

export interface RenderedFile {
  name: string;
  bytes: number;
  sha256: string;
  // The body as chunks, produced again on each call; never held whole when large.
  content: () => AsyncIterable<Buffer>;
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
// the body last. A first streaming pass measures the body (sha256, bytes, entry counts) for the
// sidecar and the transports' checks; `content` replays a small body and renders a large one again.
export async function renderRecording(s: RecordingSnapshot, fileName: string): Promise<RenderedFile[]> {
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
  let kept: Buffer[] | null = [];
  for await (const chunk of renderTranscriptStream(format, header, counted())) {
    hash.update(chunk);
    bytes += chunk.length;
    if (kept && bytes <= KEPT_BODY_BYTES) kept.push(chunk);
    else kept = null;
  }
  const sha256 = hash.digest('hex');
  const small = kept;
  const body: RenderedFile = {
    name: fileName,
    bytes,
    sha256,
    content: small
      ? async function* (): AsyncGenerator<Buffer> {
          yield* small;
        }
      : () => renderTranscriptStream(format, header, s.entries()),
  };
  if (!s.profile.sidecar) return [body];
  return [bufferedFile(sidecarFilename(fileName, format), renderMetadataSidecarOf(header, counts, { fileName, format, sha256, bytes })), body];
}

function bufferedFile(name: string, buf: Buffer): RenderedFile {
  return {
    name,
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    content: async function* () {
      yield buf;
    },
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
