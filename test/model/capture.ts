import { Actor, ChatHistory, HistoryEvent } from './history';
import { RecordingRef } from './rules';
import { apply, ChatState, initialState, leaverOfTransfer } from './state';

// What each recording captures, in order (contract sections 4 and 5).
//
// - An agent recording runs while its account is in the chat: from each join to the next leave
//   (or transfer away, or the chat's end). A flow recording runs from its start to its stop or the
//   chat's end.
// - A running recording captures while the chat is not paused and the company switch is on ("as
//   while paused"). It captures the messages stored then, and markers for joins, leaves,
//   transfers, pauses, resumes, consent, deletion request and abuse flag (section 5).
// - The pause and resume markers themselves are shown ("Files show a marker with who paused and
//   resumed").
//
// Where the contract leaves a marker open (a join while paused, the leave a transfer implies, a
// consent request, a pause marker at the company switch), the model marks it optional: a file may
// hold it or not. Marker kinds the contract does not name (assign, recording start/stop, chat end,
// company switch off/on) are not compared at all.

export const COMPARED_MARKERS = ['join', 'leave', 'transfer', 'pause', 'resume', 'consent', 'deletion_request', 'abuse_flag'] as const;
export type MarkerKind = (typeof COMPARED_MARKERS)[number];

export type Entry = { type: 'message'; seq: number; role: Actor['role']; text: string } | { type: 'marker'; kind: MarkerKind; optional: boolean; why: string };

// Messages are identified by seq; markers by kind and position.
export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.type === 'message' && b.type === 'message') return a.seq === b.seq && a.role === b.role && a.text === b.text;
  if (a.type === 'marker' && b.type === 'marker') return a.kind === b.kind;
  return false;
}

function isRunning(s: ChatState, r: RecordingRef): boolean {
  if (s.ended) return false;
  return r.kind === 'agent' ? s.present.has(r.agentId) : (s.flow.get(r.recordingId)?.running ?? false);
}

const capturing = (s: ChatState) => !s.paused && s.companySwitch;

// The entries one event adds to a recording, given the state before and after it.
function entriesFor(e: HistoryEvent, before: ChatState, after: ChatState, r: RecordingRef): Entry[] {
  const wasOn = isRunning(before, r);
  const isOn = isRunning(after, r);
  // An event that opens or closes the recording's window belongs to it (its own join and leave).
  const inWindow = wasOn || isOn;
  if (!inWindow) return [];
  const marker = (kind: MarkerKind, why: string, required: boolean): Entry => ({ type: 'marker', kind, optional: !required, why });
  const live = capturing(before) && capturing(after);
  switch (e.type) {
    case 'message':
      // A message is captured by what runs when it is stored; paused bodies are never stored.
      return wasOn && capturing(before) ? [{ type: 'message', seq: e.seq, role: e.from.role, text: e.text }] : [];
    case 'join': {
      // Joining again while in the chat is harmless: a second marker may or may not appear.
      const again = before.present.has(e.who.id);
      return [marker('join', `${e.who.role} ${e.who.id} joined`, live && !again)];
    }
    case 'leave':
      return before.present.has(e.who.id) ? [marker('leave', `${e.who.role} ${e.who.id} left`, live)] : [];
    case 'transfer': {
      const leaver = leaverOfTransfer(before, e.by);
      const transfer = marker('transfer', `transfer by ${e.by.role} ${e.by.id} to ${e.toAgentId}`, live && wasOn);
      if (leaver === null || !before.present.has(leaver)) return [transfer];
      // The leave the transfer implies: before or after the transfer marker, or not shown.
      const leave = marker('leave', `${leaver} leaves with the transfer`, false);
      return [leave, transfer, leave];
    }
    case 'pause':
      // A pause while paused changes nothing; its marker is optional.
      return [marker('pause', `paused by ${e.by.id}`, wasOn && !before.paused && before.companySwitch)];
    case 'resume':
      return [marker('resume', `resumed by ${e.by.id}`, wasOn && before.paused && before.companySwitch)];
    case 'consentRequest':
      return [marker('consent', 'consent requested', false)];
    case 'consent':
      return [marker('consent', `consent ${e.granted ? 'granted' : 'refused'} by ${e.by}`, live && wasOn)];
    case 'deletionRequest':
      return [marker('deletion_request', 'the customer asked for deletion', live && wasOn)];
    case 'abuse':
      return [marker('abuse_flag', `flagged abusive by ${e.by.role}`, live && wasOn)];
    case 'companySwitch':
      // The files mark the switch off and on; the contract leaves the kind open. A service that
      // marks it as a pause / resume is as right as one with a kind of its own.
      return before.companySwitch === after.companySwitch ? [] : [marker(e.on ? 'resume' : 'pause', `company switch ${e.on ? 'on' : 'off'}`, false)];
    case 'discard':
      // "consent refused": a service may mark it as a consent marker.
      return [marker('consent', 'the flow discarded the conversation', false)];
    case 'agentSettings':
    case 'profile':
    case 'assign':
    case 'deletionConfirm':
    case 'flowStart':
    case 'flowStop':
    case 'end':
      return [];
  }
}

// The predicted entries of each recording, by walking the history once.
export function captureOf(h: ChatHistory, r: RecordingRef): Entry[] {
  const out: Entry[] = [];
  let s = initialState(h);
  for (const e of h.events) {
    const before = s;
    const after = cloneState(s);
    apply(after, e);
    out.push(...entriesFor(e, before, after, r));
    s = after;
  }
  return out;
}

function cloneState(s: ChatState): ChatState {
  return {
    ...s,
    agents: new Map([...s.agents].map(([k, v]) => [k, { ...v }])),
    profiles: new Map(s.profiles),
    present: new Map(s.present),
    joined: new Map([...s.joined].map(([k, v]) => [k, { ...v }])),
    flow: new Map([...s.flow].map(([k, v]) => [k, { ...v }])),
  };
}

// Sequence numbers whose bodies must never be stored: sent while paused or with the switch off.
export function unstoredSeqs(h: ChatHistory): number[] {
  const out: number[] = [];
  let s = initialState(h);
  for (const e of h.events) {
    if (e.type === 'message' && !s.ended && !capturing(s)) out.push(e.seq);
    const after = cloneState(s);
    apply(after, e);
    s = after;
  }
  return out;
}

// Does a delivered list of entries match the prediction? Required entries must all be there in
// order; optional markers may be there or not; nothing else may be. A small alignment (the lists
// are short) so that an optional marker never hides a required one of the same kind.
export function matches(predicted: Entry[], delivered: Entry[]): boolean {
  const n = predicted.length;
  const m = delivered.length;
  // ok[i][j]: predicted[i..] matches delivered[j..]
  const ok: boolean[][] = Array.from({ length: n + 1 }, () => new Array<boolean>(m + 1).fill(false));
  ok[n][m] = true;
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      if (i === n && j === m) continue;
      let v = false;
      const p = predicted[i];
      if (i < n && p.type === 'marker' && p.optional) v = ok[i + 1][j];
      if (!v && i < n && j < m && sameEntry(p, delivered[j])) v = ok[i + 1][j + 1];
      ok[i][j] = v;
    }
  }
  return ok[0][0];
}

export function describeEntry(e: Entry): string {
  return e.type === 'message' ? `#${e.seq} ${e.role}: ${e.text}` : `[${e.kind}${e.optional ? '?' : ''}] ${e.why}`;
}
