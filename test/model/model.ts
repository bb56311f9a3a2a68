import { ChatHistory } from './history';
import { captureOf, Entry, unstoredSeqs } from './capture';
import { Draws, outcomeOf, PermitReading, Reason, RecordingRef, recordingKey, recordingsOf } from './rules';
import { stateAfter } from './state';

// The reference model: from a chat's history to the recordings the contract says it has, each
// produced or suppressed with its reasons, and for a produced one what its file holds.
// Plain TypeScript, no import from src/: an independent reading of CONTRACT.md sections 2-5.

export interface PredictedRecording {
  key: string;
  ref: RecordingRef;
  produced: boolean;
  reasons: Reason[];
  profileVersion: number;
  // Only meaningful when produced; a suppressed recording has no file.
  entries: Entry[];
}

export interface Prediction {
  recordings: PredictedRecording[];
  // No recording produced: every message body of the chat is purged at its end.
  allBodiesPurged: boolean;
  // Bodies never stored at all (sent while paused or with the company switch off).
  unstored: number[];
}

export function predict(h: ChatHistory, draws: Draws = {}, permitReading: PermitReading = 'at_end'): Prediction {
  const end = stateAfter(h);
  if (!end.ended) throw new Error('predict: the chat has not ended');
  const recordings = recordingsOf(h).map((ref): PredictedRecording => {
    const o = outcomeOf(end, ref, draws, permitReading);
    return { key: recordingKey(ref), ref, produced: o.produced, reasons: o.reasons, profileVersion: o.profileVersion, entries: captureOf(h, ref) };
  });
  return { recordings, allBodiesPurged: !recordings.some((r) => r.produced), unstored: unstoredSeqs(h) };
}

export type { ChatHistory };
