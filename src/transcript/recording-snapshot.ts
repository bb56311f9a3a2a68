import type { TranscriptFormat } from './filename-template';
import type { TranscriptEntry } from './transcript-renderer';

// How a recording is rendered and named, as it was when the recording started.
export interface ProfileSnapshot {
  filenameTemplate: string;
  format: TranscriptFormat;
  sidecar: boolean;
}

// One stay of a recording in its chat.
export interface SegmentView {
  startSeq: number;
  endSeq: number | null;
  startedAt: Date;
  stoppedAt: Date | null;
}

// Everything a recording needs to be rendered and named, as plain data: the recording feature
// builds it, the renderer turns it into files without a database.
export interface RecordingSnapshot {
  recording: {
    id: string;
    kind: 'agent' | 'flow';
    profileName: string;
    label: string | null;
    agentId: string | null;
    startedAt: Date;
    // When it stopped (or, for an old row without a stop, when the chat ended).
    endedAt: Date;
  };
  chat: {
    id: string;
    externalId: string | null;
    companyId: string;
    service: string;
    customerId: string | null;
    customerName: string | null;
    startedAt: Date;
    endedAt: Date | null;
  };
  timeZone: string;
  // The recording's agent, or every participant in join order; the admin's settings first.
  agents: { id: string; login: string | null; name: string | null }[];
  profile: ProfileSnapshot;
  segments: SegmentView[];
  // The chat's chain at the recording's last captured message, lowercase hex (docs/integrity.md);
  // null if it captured none (or only messages written before the chain existed).
  chainHead: string | null;
  // The entries in order, read page by page again on each call: never held whole.
  entries: () => AsyncIterable<TranscriptEntry>;
}
