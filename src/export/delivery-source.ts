import { EntityManager } from 'typeorm';
import { DeliveryFailure } from './delivery-failure';
import { DeliveryResult, TargetPlace } from './transport';

// A file to move: a relative path, its measure, and its body as chunks (read again per attempt).
export interface OutgoingFile {
  name: string;
  bytes: number;
  sha256: string;
  content: () => AsyncIterable<Buffer>;
  // content() replays the bytes measured (DeliveryFile.replayed).
  replayed?: boolean;
  // The job's main file, whose sha256 is reported (without one marked: the last file).
  main?: boolean;
  // Frees what the body holds (a spool file); called once the attempt is over, delivered or not.
  discard?: () => Promise<void>;
}

// What one job delivers. `files()` produces the files in the order they are put in place: each one
// is renamed into place before the next is uploaded (DeliveryTransport), so the last one's
// presence means the others are there. `large` ones are produced and moved a few at a time.
export interface DeliveryPlan {
  jobId: string;
  companyId: string;
  large: boolean;
  // For logs and metrics only: the conversation the files come from, and when it ended.
  chatId?: string;
  endedAt?: Date | null;
  files(): Promise<OutgoingFile[]>;
}

export interface DeliveredPlan<P extends DeliveryPlan = DeliveryPlan> {
  plan: P;
  // Of the main (last) file.
  sha256: string;
  how: DeliveryResult;
  // Every file of the plan as delivered, in order, and the place they went to (an erasure removes
  // them from there later).
  files: { name: string; bytes: number; sha256: string }[];
  place: TargetPlace;
}

export interface FailedAttempt {
  attempts: number;
  giveUp: boolean;
  failure: DeliveryFailure;
  at: Date;
}

// Where the jobs' files come from and where their outcomes go: export moves files and reports,
// knowing nothing of what they are. The reports run inside export's transaction on the job rows.
export abstract class DeliverySource<P extends DeliveryPlan = DeliveryPlan> {
  // Told the jobs of a claim as soon as they are claimed, so that it may read what their plans
  // need for all of them at once.
  prefetch(_jobIds: string[]): void {}

  // null: nothing (any more) to deliver for this job. `claimedMomentsAgo`: the job was claimed
  // less than half a lease ago and is still held, so what prefetch read for it may serve.
  abstract plan(jobId: string, opts?: { claimedMomentsAgo?: boolean }): Promise<P | null>;
  abstract delivered(m: EntityManager, done: DeliveredPlan<P>[], at: Date): Promise<void>;
  abstract failed(m: EntityManager, jobId: string, attempt: FailedAttempt): Promise<void>;
}
