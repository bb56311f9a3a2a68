import fc from 'fast-check';

// The actions of a model-based run: what a customer, agents, a supervisor, the flow and an admin
// do to one chat, and the faults that can hit the service meanwhile. Plain data, so that a failing
// run prints as a readable list and replays from its seed.

// Three staff accounts: p1 and p2 are agents, p3 a supervisor. The customer's id is p1 and the
// flow's token sub is p3 on purpose: ids are per role, and a resend must be keyed with the role.
export const AGENTS = ['p1', 'p2'] as const;
export const STAFF = ['p1', 'p2', 'p3'] as const;
export type AgentId = (typeof AGENTS)[number];
export type StaffId = (typeof STAFF)[number];
export type Sender = 'customer' | StaffId | 'flow';
export const SENDERS: readonly Sender[] = ['customer', 'p1', 'p2', 'p3', 'flow'];
export const FLOW_PROFILES = ['fa', 'fb'] as const;
export type FlowProfile = (typeof FLOW_PROFILES)[number];
export type BurstOp = 'msg' | 'pause' | 'resume' | 'resend';

export type Action =
  // n messages from one sender, each awaited, or all emitted before any answer (wait=false).
  | { t: 'say'; from: Sender; n: number; wait: boolean }
  // One message from each sender at once, none awaited before the others are sent.
  | { t: 'chorus'; from: Sender[] }
  // A message sent again with the clientMsgId of an earlier acknowledged one.
  | { t: 'resend'; from: Sender; pick: number }
  // Events from one staff socket emitted back to back: they must take effect in that order.
  | { t: 'burst'; by: StaffId; ops: BurstOp[] }
  | { t: 'assign'; to: AgentId }
  | { t: 'join'; who: StaffId }
  | { t: 'leave'; who: StaffId }
  | { t: 'transfer'; by: AgentId | 'flow'; to: AgentId }
  | { t: 'pause'; by: StaffId }
  | { t: 'resume'; by: StaffId }
  | { t: 'consentRequest' }
  | { t: 'consent'; granted: boolean; by: 'customer' | 'flow' }
  | { t: 'deleteRequest' }
  | { t: 'deleteConfirm'; by: StaffId }
  | { t: 'abuse'; by: StaffId | 'flow' }
  | { t: 'discard' }
  // The label goes into the file name; a long one makes a name segment over 255 bytes.
  | { t: 'flowStart'; profile: FlowProfile; longLabel?: boolean }
  | { t: 'flowStop'; pick: number }
  // A profile's template edited (a new version) or the profile deleted (saved again if it was).
  | { t: 'profile'; name: 'agent' | FlowProfile; op: 'edit' | 'delete' }
  | { t: 'agentSettings'; agent: StaffId; permit?: boolean; sampling?: number }
  // The company switch flipped (off if on, on if off).
  | { t: 'switch' }
  | { t: 'reconnect'; who: 'customer' | StaffId; instance: number }
  // Faults.
  | { t: 'kill9'; instance: number; inFlight: Sender | null }
  | { t: 'dbCut'; from: Sender }
  | { t: 'sshdStop' }
  | { t: 'sshdStart' }
  | { t: 'end'; how: 'agent' | 'customer' | 'flow' | 'idle' };

export interface Faults {
  kill: boolean;
  dbCut: boolean;
  sshd: boolean;
  instances: number;
}

export function describeAction(a: Action): string {
  switch (a.t) {
    case 'say':
      return `${a.from} sends ${a.n} message(s)${a.wait ? '' : ' without waiting for acks'}`;
    case 'chorus':
      return `${a.from.join(', ')} each send a message at once`;
    case 'resend':
      return `${a.from} resends its acknowledged message #${a.pick} (same clientMsgId)`;
    case 'burst':
      return `${a.by} emits back to back: ${a.ops.join(', ')}`;
    case 'assign':
      return `flow assigns the chat to ${a.to}`;
    case 'join':
      return `${a.who} joins`;
    case 'leave':
      return `${a.who} leaves`;
    case 'transfer':
      return `${a.by} transfers to ${a.to}`;
    case 'pause':
      return `${a.by} pauses`;
    case 'resume':
      return `${a.by} resumes`;
    case 'consentRequest':
      return 'flow asks for consent';
    case 'consent':
      return `${a.by} answers consent: ${a.granted ? 'granted' : 'refused'}`;
    case 'deleteRequest':
      return 'customer asks for deletion';
    case 'deleteConfirm':
      return `${a.by} presses delete`;
    case 'abuse':
      return `${a.by} flags abusive`;
    case 'discard':
      return 'flow discards the conversation';
    case 'flowStart':
      return `flow starts a recording of profile ${a.profile}${a.longLabel ? ' with a 300-byte label' : ''}`;
    case 'flowStop':
      return `flow stops its recording #${a.pick}`;
    case 'profile':
      return `admin ${a.op === 'edit' ? 'edits' : 'deletes (or re-creates)'} profile ${a.name}`;
    case 'agentSettings':
      return `admin sets ${a.agent}: ${a.permit === undefined ? '' : `permitRecordings=${a.permit} `}${a.sampling === undefined ? '' : `samplingPercent=${a.sampling}`}`.trim();
    case 'switch':
      return 'admin flips the company switch';
    case 'reconnect':
      return `${a.who} reconnects (to instance ${a.instance})`;
    case 'kill9':
      return `kill -9 of instance ${a.instance}${a.inFlight ? ` with a message of ${a.inFlight} in flight` : ''}, restart`;
    case 'dbCut':
      return `database cut for a while with a message of ${a.from} in flight`;
    case 'sshdStop':
      return 'sshd stopped';
    case 'sshdStart':
      return 'sshd started';
    case 'end':
      return a.how === 'idle' ? 'chat ends by idle timeout' : `chat ended by ${a.how}`;
  }
}

// Initial agent settings of a run, set before the chat opens.
export interface Setup {
  agents: Record<StaffId, { permit: boolean; sampling: number }>;
  // Most runs start routed (the flow assigns p1, who joins), so that the actions meet an agent.
  routed: boolean;
}

const staff = fc.constantFrom<StaffId>(...STAFF);
const agent = fc.constantFrom<AgentId>(...AGENTS);
const sender = fc.constantFrom<Sender>(...SENDERS);
const sampling = fc.constantFrom(100, 100, 0, 50);

export const setupArb: fc.Arbitrary<Setup> = fc.record({
  agents: fc.record({
    p1: fc.record({ permit: fc.constantFrom(true, true, true, false), sampling }),
    p2: fc.record({ permit: fc.constantFrom(true, true, true, false), sampling }),
    p3: fc.record({ permit: fc.constantFrom(true, true, true, false), sampling }),
  }),
  routed: fc.constantFrom(true, true, true, false),
});

// Weighted action arbitrary: the everyday actions often, the decisive ones (veto, end) rarely.
export function actionArb(f: Faults): fc.Arbitrary<Action> {
  const instance = fc.nat({ max: Math.max(0, f.instances - 1) });
  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
  const parts: { weight: number; arbitrary: fc.Arbitrary<Action> }[] = [
    w(12, fc.record({ t: fc.constant('say' as const), from: sender, n: fc.integer({ min: 1, max: 3 }), wait: fc.boolean() })),
    w(3, fc.record({ t: fc.constant('chorus' as const), from: fc.uniqueArray(sender, { minLength: 2, maxLength: 5 }) })),
    w(3, fc.record({ t: fc.constant('resend' as const), from: sender, pick: fc.nat({ max: 9 }) })),
    w(
      3,
      fc.record({
        t: fc.constant('burst' as const),
        by: staff,
        ops: fc.array(fc.constantFrom<BurstOp>('msg', 'pause', 'resume', 'resend'), { minLength: 2, maxLength: 5 }),
      }),
    ),
    w(5, fc.record({ t: fc.constant('assign' as const), to: agent })),
    w(8, fc.record({ t: fc.constant('join' as const), who: staff })),
    w(5, fc.record({ t: fc.constant('leave' as const), who: staff })),
    w(4, fc.record({ t: fc.constant('transfer' as const), by: fc.constantFrom<AgentId | 'flow'>('p1', 'p2', 'flow'), to: agent })),
    w(3, fc.record({ t: fc.constant('pause' as const), by: staff })),
    w(3, fc.record({ t: fc.constant('resume' as const), by: staff })),
    w(1, fc.constant({ t: 'consentRequest' as const })),
    w(
      1,
      fc.record({
        t: fc.constant('consent' as const),
        granted: fc.constantFrom(true, true, false),
        by: fc.constantFrom<'customer' | 'flow'>('customer', 'flow'),
      }),
    ),
    w(1, fc.constant({ t: 'deleteRequest' as const })),
    w(1, fc.record({ t: fc.constant('deleteConfirm' as const), by: staff })),
    w(1, fc.record({ t: fc.constant('abuse' as const), by: fc.constantFrom<StaffId | 'flow'>(...STAFF, 'flow') })),
    w(1, fc.constant({ t: 'discard' as const })),
    w(
      3,
      fc.record(
        {
          t: fc.constant('flowStart' as const),
          profile: fc.constantFrom<FlowProfile>(...FLOW_PROFILES),
          longLabel: fc.constantFrom(true, false, false, false),
        },
        { requiredKeys: ['t', 'profile'] },
      ),
    ),
    w(2, fc.record({ t: fc.constant('flowStop' as const), pick: fc.nat({ max: 4 }) })),
    w(
      2,
      fc.record({
        t: fc.constant('profile' as const),
        name: fc.constantFrom<'agent' | FlowProfile>('agent', ...FLOW_PROFILES),
        op: fc.constantFrom<'edit' | 'delete'>('edit', 'edit', 'delete'),
      }),
    ),
    w(
      2,
      fc.record(
        { t: fc.constant('agentSettings' as const), agent: staff, permit: fc.constantFrom(true, true, false), sampling },
        { requiredKeys: ['t', 'agent'] },
      ),
    ),
    w(3, fc.constant({ t: 'switch' as const })),
    w(2, fc.record({ t: fc.constant('reconnect' as const), who: fc.constantFrom<'customer' | StaffId>('customer', ...STAFF), instance })),
    w(1, fc.record({ t: fc.constant('end' as const), how: fc.constantFrom<'agent' | 'customer' | 'flow' | 'idle'>('agent', 'customer', 'flow', 'idle') })),
  ];
  if (f.kill) parts.push(w(1, fc.record({ t: fc.constant('kill9' as const), instance, inFlight: fc.option(sender, { nil: null }) })));
  if (f.dbCut) parts.push(w(1, fc.record({ t: fc.constant('dbCut' as const), from: sender })));
  if (f.sshd) parts.push(w(1, fc.constant({ t: 'sshdStop' as const })), w(1, fc.constant({ t: 'sshdStart' as const })));
  return fc.oneof(...parts);
}
