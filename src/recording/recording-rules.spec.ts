import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ChatFacts, ParticipantFact, RecordingFact, decideRecordings, sampleDecision, samplingDraw } from './recording-rules';

const alice: ParticipantFact = { agentId: 'alice', role: 'agent', permitRecordings: true };
const bob: ParticipantFact = { agentId: 'bob', role: 'agent', permitRecordings: true };
const sam: ParticipantFact = { agentId: 'sam', role: 'supervisor', permitRecordings: true };

const aliceRec: RecordingFact = { recordingId: 'r-alice', kind: 'agent', agentId: 'alice', sampledIn: true };
const bobRec: RecordingFact = { recordingId: 'r-bob', kind: 'agent', agentId: 'bob', sampledIn: true };
const flowRec: RecordingFact = { recordingId: 'r-flow', kind: 'flow' };

function chat(overrides: Partial<ChatFacts> = {}): ChatFacts {
  return {
    companyRecordingEnabled: true,
    participants: [alice],
    deletionConfirmed: false,
    consent: null,
    discarded: false,
    abusive: false,
    recordings: [aliceRec, flowRec],
    ...overrides,
  };
}

const reasons = (facts: ChatFacts) => decideRecordings(facts).map((o) => [o.recordingId, o.produced, o.reason]);

describe('decideRecordings: contract section 4', () => {
  it('produces every recording of an ordinary chat', () => {
    expect(reasons(chat())).toEqual([
      ['r-alice', true, 'recorded'],
      ['r-flow', true, 'recorded'],
    ]);
  });

  it('has no outcome for a chat without recordings', () => {
    expect(decideRecordings(chat({ recordings: [] }))).toEqual([]);
  });

  describe('the company switch: a company whose webchat recording is off records nothing', () => {
    it('produces nothing', () => {
      expect(reasons(chat({ companyRecordingEnabled: false }))).toEqual([
        ['r-alice', false, 'company_recording_off'],
        ['r-flow', false, 'company_recording_off'],
      ]);
    });

    it('produces nothing even when the chat was flagged abusive', () => {
      const outcomes = decideRecordings(chat({ companyRecordingEnabled: false, abusive: true }));
      expect(outcomes.every((o) => !o.produced && o.reason === 'company_recording_off')).toBe(true);
    });
  });

  describe('agent recording: kept or not by the draw made at the join', () => {
    it('does not produce an agent recording that was sampled out', () => {
      const facts = chat({
        participants: [alice, bob],
        recordings: [aliceRec, { ...bobRec, sampledIn: false }, flowRec],
      });
      expect(reasons(facts)).toEqual([
        ['r-alice', true, 'recorded'],
        ['r-bob', false, 'not_sampled'],
        ['r-flow', true, 'recorded'],
      ]);
      expect(decideRecordings(facts)[1].detail).toContain('bob');
    });

    it('keeps an agent recording without a stored draw (the default samplingPercent is 100)', () => {
      const noDraw: RecordingFact = { recordingId: 'r-alice', kind: 'agent', agentId: 'alice' };
      expect(reasons(chat({ recordings: [noDraw] }))).toEqual([['r-alice', true, 'recorded']]);
    });

    it('gives a supervisor who joined a recording of its own like an agent', () => {
      const samRec: RecordingFact = { recordingId: 'r-sam', kind: 'agent', agentId: 'sam', sampledIn: true };
      expect(reasons(chat({ participants: [alice, sam], recordings: [aliceRec, samRec] }))).toEqual([
        ['r-alice', true, 'recorded'],
        ['r-sam', true, 'recorded'],
      ]);
    });
  });

  describe('flow recordings: any number in parallel, not sampled', () => {
    it('produces every flow recording even when every agent recording was sampled out', () => {
      const facts = chat({
        recordings: [
          { ...aliceRec, sampledIn: false },
          { recordingId: 'f1', kind: 'flow' },
          { recordingId: 'f2', kind: 'flow' },
          // a stray sampledIn on a flow recording is ignored: flow recordings are never sampled
          { recordingId: 'f3', kind: 'flow', sampledIn: false },
        ],
      });
      expect(reasons(facts)).toEqual([
        ['r-alice', false, 'not_sampled'],
        ['f1', true, 'recorded'],
        ['f2', true, 'recorded'],
        ['f3', true, 'recorded'],
      ]);
    });
  });

  describe('no recording of the chat is produced if ...', () => {
    it('(a) an agent who joined has permitRecordings = false', () => {
      const facts = chat({
        participants: [alice, { ...bob, permitRecordings: false }],
        recordings: [aliceRec, bobRec, flowRec],
      });
      const outcomes = decideRecordings(facts);
      expect(outcomes.map((o) => [o.produced, o.reason])).toEqual([
        [false, 'agent_not_permitted'],
        [false, 'agent_not_permitted'],
        [false, 'agent_not_permitted'],
      ]);
      expect(outcomes[0].detail).toContain('bob');
      expect(outcomes[0].detail).not.toContain('alice');
    });

    it('(a) a supervisor who joined has permitRecordings = false', () => {
      const facts = chat({ participants: [alice, { ...sam, permitRecordings: false }] });
      const outcomes = decideRecordings(facts);
      expect(outcomes.every((o) => !o.produced && o.reason === 'agent_not_permitted')).toBe(true);
      expect(outcomes[0].detail).toContain('sam');
    });

    it('(a) also after a transfer: the non-permitting agent has left, the chat went on with another', () => {
      // bob (not permitted) took the chat first and transferred it to alice; bob's recording ended at
      // his leave, alice's ran to the end. bob is still a participant "who joined".
      const facts = chat({
        participants: [{ ...bob, permitRecordings: false }, alice],
        recordings: [{ ...bobRec }, aliceRec, flowRec],
      });
      expect(decideRecordings(facts).map((o) => o.reason)).toEqual(['agent_not_permitted', 'agent_not_permitted', 'agent_not_permitted']);
    });

    it('(a) names every non-permitting agent once in the detail', () => {
      const facts = chat({
        participants: [
          { ...bob, permitRecordings: false },
          alice,
          { ...sam, permitRecordings: false },
          { ...bob, permitRecordings: false }, // bob joined twice
        ],
      });
      const detail = decideRecordings(facts)[0].detail;
      expect(detail).toContain('bob');
      expect(detail).toContain('sam');
      expect(detail.match(/bob/g)).toHaveLength(1);
    });

    it("(b) the agent pressed delete after the customer's request", () => {
      expect(reasons(chat({ deletionConfirmed: true }))).toEqual([
        ['r-alice', false, 'deletion_confirmed'],
        ['r-flow', false, 'deletion_confirmed'],
      ]);
    });

    it('(c) consent was refused', () => {
      expect(reasons(chat({ consent: 'refused' }))).toEqual([
        ['r-alice', false, 'consent_refused'],
        ['r-flow', false, 'consent_refused'],
      ]);
    });

    it('(c) the flow discarded the conversation', () => {
      expect(reasons(chat({ discarded: true }))).toEqual([
        ['r-alice', false, 'discarded'],
        ['r-flow', false, 'discarded'],
      ]);
    });

    it('(c) granted consent or no consent question at all records normally', () => {
      expect(decideRecordings(chat({ consent: 'granted' })).every((o) => o.produced)).toBe(true);
      expect(decideRecordings(chat({ consent: null })).every((o) => o.produced)).toBe(true);
    });

    it('reports the first applicable reason in the order (a), (b), (c)', () => {
      const all = chat({
        participants: [{ ...alice, permitRecordings: false }],
        deletionConfirmed: true,
        consent: 'refused',
        discarded: true,
      });
      expect(decideRecordings(all)[0].reason).toBe('agent_not_permitted');
      expect(decideRecordings({ ...all, participants: [alice] })[0].reason).toBe('deletion_confirmed');
      expect(decideRecordings({ ...all, participants: [alice], deletionConfirmed: false })[0].reason).toBe('consent_refused');
    });
  });

  describe('override: a chat flagged abusive produces every recording', () => {
    it('whatever (a)-(c) and the sampling say', () => {
      const facts = chat({
        abusive: true,
        participants: [{ ...alice, permitRecordings: false }, bob],
        deletionConfirmed: true,
        consent: 'refused',
        discarded: true,
        recordings: [{ ...aliceRec, sampledIn: false }, bobRec, flowRec],
      });
      expect(reasons(facts)).toEqual([
        ['r-alice', true, 'abusive_override'],
        ['r-bob', true, 'abusive_override'],
        ['r-flow', true, 'abusive_override'],
      ]);
    });
  });

  it('explains every outcome with a non-empty sentence', () => {
    const cases: ChatFacts[] = [
      chat(),
      chat({ companyRecordingEnabled: false }),
      chat({ abusive: true }),
      chat({ participants: [{ ...alice, permitRecordings: false }] }),
      chat({ deletionConfirmed: true }),
      chat({ consent: 'refused' }),
      chat({ discarded: true }),
      chat({ recordings: [{ ...aliceRec, sampledIn: false }] }),
    ];
    for (const facts of cases) {
      for (const outcome of decideRecordings(facts)) {
        expect(outcome.detail.length).toBeGreaterThan(10);
      }
    }
  });
});

// ---- properties -------------------------------------------------------------------------------

const agentIdArb = fc.constantFrom('alice', 'bob', 'carol', 'dave', 'sam');
const participantArb: fc.Arbitrary<ParticipantFact> = fc.record({
  agentId: agentIdArb,
  role: fc.constantFrom('agent' as const, 'supervisor' as const),
  permitRecordings: fc.boolean(),
});
const recordingArb: fc.Arbitrary<RecordingFact> = fc.oneof(
  fc.record(
    {
      recordingId: fc.uuid(),
      kind: fc.constant('agent' as const),
      agentId: agentIdArb,
      sampledIn: fc.boolean(),
    },
    { requiredKeys: ['recordingId', 'kind', 'agentId'] },
  ),
  fc.record({ recordingId: fc.uuid(), kind: fc.constant('flow' as const) }),
);
const factsArb: fc.Arbitrary<ChatFacts> = fc.record({
  companyRecordingEnabled: fc.boolean(),
  participants: fc.array(participantArb, { maxLength: 5 }),
  deletionConfirmed: fc.boolean(),
  consent: fc.constantFrom('granted' as const, 'refused' as const, null),
  discarded: fc.boolean(),
  abusive: fc.boolean(),
  recordings: fc.array(recordingArb, { maxLength: 8 }),
});

describe('decideRecordings: properties', () => {
  it('returns one outcome per recording, in the same order', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        const outcomes = decideRecordings(facts);
        expect(outcomes.map((o) => o.recordingId)).toEqual(facts.recordings.map((r) => r.recordingId));
      }),
    );
  });

  it('company switch off: nothing is produced', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        const outcomes = decideRecordings({ ...facts, companyRecordingEnabled: false });
        expect(outcomes.every((o) => !o.produced && o.reason === 'company_recording_off')).toBe(true);
      }),
    );
  });

  it('abusive with the company switch on: every recording is produced', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        const outcomes = decideRecordings({ ...facts, companyRecordingEnabled: true, abusive: true });
        expect(outcomes.every((o) => o.produced && o.reason === 'abusive_override')).toBe(true);
      }),
    );
  });

  it('not abusive: a non-permitting participant, confirmed deletion, refused consent or discard produces nothing', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        const f = { ...facts, abusive: false };
        const suppressed = f.participants.some((p) => !p.permitRecordings) || f.deletionConfirmed || f.consent === 'refused' || f.discarded;
        fc.pre(suppressed);
        expect(decideRecordings(f).some((o) => o.produced)).toBe(false);
      }),
    );
  });

  it('otherwise exactly the sampled-out agent recordings are not produced', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        const f: ChatFacts = {
          ...facts,
          companyRecordingEnabled: true,
          abusive: false,
          participants: facts.participants.map((p) => ({ ...p, permitRecordings: true })),
          deletionConfirmed: false,
          consent: facts.consent === 'refused' ? 'granted' : facts.consent,
          discarded: false,
        };
        decideRecordings(f).forEach((o, i) => {
          const r = f.recordings[i];
          const sampledOut = r.kind === 'agent' && r.sampledIn === false;
          expect(o.produced).toBe(!sampledOut);
          expect(o.reason).toBe(sampledOut ? 'not_sampled' : 'recorded');
        });
      }),
    );
  });

  it('is pure: does not modify its input and gives the same answer twice', () => {
    fc.assert(
      fc.property(factsArb, (facts) => {
        const copy = structuredClone(facts);
        const first = decideRecordings(facts);
        expect(facts).toEqual(copy);
        expect(decideRecordings(facts)).toEqual(first);
      }),
    );
  });
});

describe('sampling', () => {
  it('derives the draw from sha256(chatId + NUL + agentId): first 6 bytes / 2^48 * 100', () => {
    // Computed independently: sha256('chat-1\0alice').
    const hex = createHash('sha256').update('chat-1\u0000alice').digest('hex');
    expect(samplingDraw('chat-1', 'alice')).toBe((parseInt(hex.slice(0, 12), 16) / 2 ** 48) * 100);
  });

  it('separates chatId and agentId (no ambiguity between "ab"+"c" and "a"+"bc")', () => {
    expect(samplingDraw('ab', 'c')).not.toBe(samplingDraw('a', 'bc'));
  });

  it('is reproducible: the same chat and agent always give the same draw', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 100 }), (chatId, agentId, pct) => {
        const draw = samplingDraw(chatId, agentId);
        expect(draw).toBeGreaterThanOrEqual(0);
        expect(draw).toBeLessThan(100);
        expect(samplingDraw(chatId, agentId)).toBe(draw);
        expect(sampleDecision(chatId, agentId, pct)).toEqual(sampleDecision(chatId, agentId, pct));
        expect(sampleDecision(chatId, agentId, pct).draw).toBe(draw);
      }),
    );
  });

  it('keeps exactly when draw < samplingPercent', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.double({ min: 0, max: 100, noNaN: true }), (chatId, agentId, pct) => {
        const d = sampleDecision(chatId, agentId, pct);
        expect(d.sampledIn).toBe(d.draw < pct);
      }),
    );
  });

  it('100% always keeps, 0% never does', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (chatId, agentId) => {
        expect(sampleDecision(chatId, agentId, 100).sampledIn).toBe(true);
        expect(sampleDecision(chatId, agentId, 0).sampledIn).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('is statistically right: 10,000 chats at 37% keep between 35% and 39%', () => {
    let kept = 0;
    for (let i = 0; i < 10_000; i++) {
      if (sampleDecision(`chat-${i}-${i * 7919}`, 'agent-42', 37).sampledIn) kept++;
    }
    expect(kept).toBeGreaterThanOrEqual(3500);
    expect(kept).toBeLessThanOrEqual(3900);
  });

  it('spreads draws evenly over [0, 100)', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(samplingDraw(`c${i}`, 'a') / 10)]++;
    for (const n of buckets) {
      expect(n).toBeGreaterThan(850);
      expect(n).toBeLessThan(1150);
    }
  });

  it('explains the draw in a sentence', () => {
    const kept = sampleDecision('chat-1', 'alice', 100);
    expect(kept.reason).toMatch(/^draw \d{1,2}\.\d\d < 100% sampling: kept$/);
    const dropped = sampleDecision('chat-1', 'alice', 0);
    expect(dropped.reason).toMatch(/^draw \d{1,2}\.\d\d >= 0% sampling: not kept$/);
    const d = sampleDecision('chat-1', 'alice', 50);
    expect(d.reason).toContain(`draw ${(Math.floor(d.draw * 100) / 100).toFixed(2)}`);
    expect(d.reason).toContain('50% sampling');
  });

  it('clamps an out-of-range percentage and treats a non-number as the default 100', () => {
    expect(sampleDecision('c', 'a', 150).sampledIn).toBe(true);
    expect(sampleDecision('c', 'a', -5).sampledIn).toBe(false);
    expect(sampleDecision('c', 'a', Number.NaN).sampledIn).toBe(true);
  });
});
