// The history of one chat, as the reference model reads it: what happened, in the order it
// happened, with only the facts the contract (../shared/CONTRACT.md sections 2-5) talks about.
// The model-based test appends an event each time the real service accepted an action; the unit
// tests write histories by hand. Nothing here knows how the service stores or decides anything.

// Who did something. `id` is the token's `sub` (the customer's is its customer id).
export type Role = 'customer' | 'agent' | 'supervisor' | 'flow' | 'admin';
export interface Actor {
  role: Role;
  id: string;
}
// Agents and supervisors: the people who join a chat and get an agent recording each.
export type Staff = Actor & { role: 'agent' | 'supervisor' };

export type HistoryEvent =
  // Admin: the company switch (settings.recordingEnabled).
  | { type: 'companySwitch'; on: boolean }
  // Admin: an agent's settings (only the fields given change).
  | { type: 'agentSettings'; agentId: string; permitRecordings?: boolean; samplingPercent?: number }
  // Admin: a profile saved (its `version` names the template the test gave it) or deleted (null).
  | { type: 'profile'; name: string; version: number | null }
  // Flow routes the chat to an agent (assign); the agent takes part only once it joins.
  | { type: 'assign'; agentId: string }
  | { type: 'join'; who: Staff }
  | { type: 'leave'; who: Staff }
  // A transfer by an agent (who leaves) or by the flow (the assigned agent leaves).
  | { type: 'transfer'; by: Actor; toAgentId: string }
  | { type: 'pause'; by: Staff }
  | { type: 'resume'; by: Staff }
  // A message the service acknowledged with `seq` (a resend is not a new event).
  | { type: 'message'; from: Actor; seq: number; text: string }
  | { type: 'consentRequest' }
  | { type: 'consent'; granted: boolean; by: 'customer' | 'flow' }
  | { type: 'deletionRequest' }
  | { type: 'deletionConfirm'; by: Staff }
  | { type: 'abuse'; by: Actor }
  | { type: 'discard' }
  | { type: 'flowStart'; recordingId: string; profile: string }
  | { type: 'flowStop'; recordingId: string }
  | { type: 'end'; how: 'agent' | 'customer' | 'flow' | 'idle' };

export interface ChatHistory {
  // The state before the chat: the company's switch, agents' settings, saved profiles.
  initial: {
    companySwitch: boolean;
    agents: Record<string, { permitRecordings: boolean; samplingPercent: number }>;
    profiles: Record<string, number>;
  };
  events: HistoryEvent[];
}

// Contract defaults (sections 4 and 7): recording on, every agent permitted and sampled at 100.
export const DEFAULT_AGENT = { permitRecordings: true, samplingPercent: 100 } as const;
export const AGENT_PROFILE = 'agent';

export function emptyHistory(): ChatHistory {
  return { initial: { companySwitch: true, agents: {}, profiles: { [AGENT_PROFILE]: 1 } }, events: [] };
}
