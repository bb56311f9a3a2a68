import { Actor, AGENT_PROFILE, ChatHistory, DEFAULT_AGENT, HistoryEvent, Staff } from './history';

// The live state of a chat after a prefix of its history: who is in it, whether it is paused, which
// recordings run. The rules and the capture walk the history with it; the test's generator uses it
// to choose actions that make sense and to know which answers the contract fixes.
export interface ChatState {
  ended: boolean;
  companySwitch: boolean;
  agents: Map<string, { permitRecordings: boolean; samplingPercent: number }>;
  profiles: Map<string, number>;
  assignedTo: string | null;
  // Staff in the chat now (joined and not left), by account id.
  present: Map<string, Staff>;
  // Every account that ever joined, with the agent-profile version and sampling percent of its
  // first join (one recording per account, drawn once).
  // permitAtJoins: whether permitRecordings was true at every one of its joins.
  joined: Map<string, { who: Staff; profileVersion: number; samplingPercent: number; permitAtJoins: boolean }>;
  paused: boolean;
  consent: boolean | null;
  deletionRequested: boolean;
  deletionConfirmed: boolean;
  abusive: boolean;
  discarded: boolean;
  // Flow recordings in start order, with the profile version at their start.
  flow: Map<string, { profile: string; profileVersion: number; running: boolean }>;
}

export function initialState(h: ChatHistory): ChatState {
  return {
    ended: false,
    companySwitch: h.initial.companySwitch,
    agents: new Map(Object.entries(h.initial.agents).map(([k, v]) => [k, { ...v }])),
    profiles: new Map(Object.entries(h.initial.profiles)),
    assignedTo: null,
    present: new Map(),
    joined: new Map(),
    paused: false,
    consent: null,
    deletionRequested: false,
    deletionConfirmed: false,
    abusive: false,
    discarded: false,
    flow: new Map(),
  };
}

export function agentSettings(s: ChatState, agentId: string): { permitRecordings: boolean; samplingPercent: number } {
  return s.agents.get(agentId) ?? { ...DEFAULT_AGENT };
}

// Who leaves the chat with a transfer: the transferring agent, or for the flow the assigned one.
export function leaverOfTransfer(s: ChatState, by: Actor): string | null {
  if (by.role === 'agent' || by.role === 'supervisor') return by.id;
  return s.assignedTo;
}

// Applies one event. Events after the end change nothing (ending twice is harmless).
export function apply(s: ChatState, e: HistoryEvent): void {
  if (s.ended) return;
  switch (e.type) {
    case 'companySwitch':
      s.companySwitch = e.on;
      return;
    case 'agentSettings': {
      const cur = agentSettings(s, e.agentId);
      s.agents.set(e.agentId, {
        permitRecordings: e.permitRecordings ?? cur.permitRecordings,
        samplingPercent: e.samplingPercent ?? cur.samplingPercent,
      });
      return;
    }
    case 'profile':
      if (e.version === null) s.profiles.delete(e.name);
      else s.profiles.set(e.name, e.version);
      return;
    case 'assign':
      s.assignedTo = e.agentId;
      return;
    case 'join': {
      s.present.set(e.who.id, e.who);
      const permit = agentSettings(s, e.who.id).permitRecordings;
      const j = s.joined.get(e.who.id);
      if (j) j.permitAtJoins = j.permitAtJoins && permit;
      else {
        s.joined.set(e.who.id, {
          who: e.who,
          profileVersion: s.profiles.get(AGENT_PROFILE) ?? 0,
          samplingPercent: agentSettings(s, e.who.id).samplingPercent,
          permitAtJoins: permit,
        });
      }
      return;
    }
    case 'leave':
      s.present.delete(e.who.id);
      return;
    case 'transfer': {
      const leaver = leaverOfTransfer(s, e.by);
      if (leaver !== null) s.present.delete(leaver);
      s.assignedTo = e.toAgentId;
      return;
    }
    case 'pause':
      s.paused = true;
      return;
    case 'resume':
      s.paused = false;
      return;
    case 'message':
    case 'consentRequest':
      return;
    case 'consent':
      s.consent = e.granted;
      return;
    case 'deletionRequest':
      s.deletionRequested = true;
      return;
    case 'deletionConfirm':
      s.deletionConfirmed = true;
      return;
    case 'abuse':
      s.abusive = true;
      return;
    case 'discard':
      s.discarded = true;
      return;
    case 'flowStart':
      s.flow.set(e.recordingId, { profile: e.profile, profileVersion: s.profiles.get(e.profile) ?? 0, running: true });
      return;
    case 'flowStop': {
      const r = s.flow.get(e.recordingId);
      if (r) r.running = false;
      return;
    }
    case 'end':
      s.ended = true;
      for (const r of s.flow.values()) r.running = false;
      s.present.clear();
      return;
  }
}

export function stateAfter(h: ChatHistory, count = h.events.length): ChatState {
  const s = initialState(h);
  for (const e of h.events.slice(0, count)) apply(s, e);
  return s;
}
