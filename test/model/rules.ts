import { ChatHistory, Staff } from './history';
import { agentSettings, ChatState, stateAfter } from './state';

// Contract section 4, read on its own: which recordings a chat has and, at its end, which are
// produced and why. A second, independent reading of the rules the service implements.

// The reasons the admin API names (GET /v1/admin/chats/:chatId, each recording's outcome).
export type Reason =
  'recorded' | 'abusive_override' | 'company_recording_off' | 'agent_not_permitted' | 'deletion_confirmed' | 'consent_refused' | 'discarded' | 'not_sampled';

// A recording the chat has: one per agent or supervisor account that joined, one per flow start.
export type RecordingRef = { kind: 'agent'; agentId: string; who: Staff } | { kind: 'flow'; recordingId: string; profile: string };

export interface Outcome {
  produced: boolean;
  // Any of these is a right answer: where several rules apply at once the contract does not say
  // which one the explanation names.
  reasons: Reason[];
  // The profile version (the test's template) the file must follow: the profile as it was when the
  // recording started.
  profileVersion: number;
}

// The sampling draw of an agent recording: certain at 0 and 100, otherwise a reproducible draw
// the model cannot compute (the contract fixes that it is drawn, not how); the test then reads
// the drawn value from the admin API and passes it in.
export type Draws = Record<string, boolean | undefined>;

export function sampledIn(percent: number, draw: boolean | undefined): boolean | 'unknown' {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return draw ?? 'unknown';
}

export function recordingsOf(h: ChatHistory): RecordingRef[] {
  const s = stateAfter(h);
  const out: RecordingRef[] = [];
  for (const [agentId, j] of s.joined) out.push({ kind: 'agent', agentId, who: j.who });
  for (const [recordingId, f] of s.flow) out.push({ kind: 'flow', recordingId, profile: f.profile });
  return out;
}

export function recordingKey(r: RecordingRef): string {
  return r.kind === 'agent' ? `agent:${r.agentId}` : `flow:${r.recordingId}`;
}

// Two readings of (a), both kept because the contract allows both: "any agent or supervisor who
// joined has permitRecordings = false" read at the chat's end (decisions are final then), or read
// at each join (the setting the agent had while it took part). They differ only when an admin
// changes the setting of an agent who has joined; the test accepts an outcome of either reading,
// the same reading for every recording of the chat.
export type PermitReading = 'at_end' | 'at_join';
export const PERMIT_READINGS: PermitReading[] = ['at_end', 'at_join'];

// The decision at the chat's end ("Decisions are final at the chat's end"): everything is read in
// the state the chat ends in, except the sampling draw, made once at the agent's first join.
export function outcomeOf(s: ChatState, r: RecordingRef, draws: Draws = {}, permitReading: PermitReading = 'at_end'): Outcome {
  const profileVersion = r.kind === 'agent' ? (s.joined.get(r.agentId)?.profileVersion ?? 0) : (s.flow.get(r.recordingId)?.profileVersion ?? 0);
  // "A company whose webchat recording is off records nothing": above every other rule, the
  // abuse override included (that one overrides (a)-(c) and sampling only).
  if (!s.companySwitch) return { produced: false, reasons: ['company_recording_off'], profileVersion };

  // (a)-(c): no recording of the chat is produced.
  const vetoes: Reason[] = [];
  const permitted = (id: string) => (permitReading === 'at_end' ? agentSettings(s, id).permitRecordings : (s.joined.get(id)?.permitAtJoins ?? true));
  if ([...s.joined.keys()].some((id) => !permitted(id))) vetoes.push('agent_not_permitted');
  if (s.deletionConfirmed) vetoes.push('deletion_confirmed');
  if (s.consent === false) vetoes.push('consent_refused');
  if (s.discarded) vetoes.push('discarded');

  // Sampling: agent recordings only ("Flow recordings ... Not sampled").
  const sampled = r.kind === 'agent' ? sampledIn(s.joined.get(r.agentId)?.samplingPercent ?? 100, draws[r.agentId]) : true;
  if (sampled === 'unknown') throw new Error(`the sampling draw of ${recordingKey(r)} is needed`);

  if (s.abusive) {
    // The override: produced "whatever (a)-(c) and the sampling say". When it overrode nothing,
    // either wording explains the outcome.
    const overrode = vetoes.length > 0 || !sampled;
    return { produced: true, reasons: overrode ? ['abusive_override'] : ['recorded', 'abusive_override'], profileVersion };
  }
  if (vetoes.length > 0) return { produced: false, reasons: vetoes, profileVersion };
  if (!sampled) return { produced: false, reasons: ['not_sampled'], profileVersion };
  return { produced: true, reasons: ['recorded'], profileVersion };
}

// Agent recordings whose draw the model cannot compute (percent strictly between 0 and 100).
export function drawsNeeded(h: ChatHistory): string[] {
  const s = stateAfter(h);
  return [...s.joined.entries()].filter(([, j]) => sampledIn(j.samplingPercent, undefined) === 'unknown').map(([id]) => id);
}
