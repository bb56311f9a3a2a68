import type { TranscriptFormat } from './filename-template';
import type { MarkerEntry, TranscriptEntry } from './transcript-renderer';

// How a recording is rendered and named, as it was when the recording started.
export interface ProfileSnapshot {
  filenameTemplate: string;
  format: TranscriptFormat;
  sidecar: boolean;
  // A signed manifest goes last (contract section 9).
  manifest: boolean;
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
    // Why it is produced (the recording rules' reason and sentence); the vcon format shows it.
    outcomeReason: string | null;
    outcomeDetail: string | null;
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
  agents: { id: string; login: string | null; name: string | null; role?: 'agent' | 'supervisor' }[];
  profile: ProfileSnapshot;
  // The chat's chain at the recording's last captured message (lowercase hex), null when unknown.
  // A large recording's chain is checked by the first pass over entries(): its head is set when that
  // pass has gone through (the pass throws at its end if the chain is broken).
  chainHead: string | null;
  segments: SegmentView[];
  // The chat's consent markers (request, answer, discard) wherever they fall, also before the
  // recording started: the consent evidence of the vcon format.
  consent: MarkerEntry[];
  // The entries in order, read page by page again on each call: never held whole.
  entries: () => AsyncIterable<TranscriptEntry>;
}
