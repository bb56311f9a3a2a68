import { Actor, ChatHistory, emptyHistory, HistoryEvent, Staff } from './history';
import { describeEntry, Entry, matches } from './capture';
import { predict, PredictedRecording } from './model';

// The reference model's own tests: the contract's rules, one example each, read off the model. No
// service runs here; test/model/mbt.test.ts compares the model with the service.

const A: Staff = { role: 'agent', id: 'a' };
const B: Staff = { role: 'agent', id: 'b' };
const S: Staff = { role: 'supervisor', id: 's' };
const C: Actor = { role: 'customer', id: 'c' };
const F: Actor = { role: 'flow', id: 'f' };

// A tiny builder: messages get consecutive seqs and a text naming the seq.
function chat(build: (x: { ev: (e: HistoryEvent) => void; say: (from: Actor) => void }) => void, setup?: Partial<ChatHistory['initial']>): ChatHistory {
  const h = emptyHistory();
  Object.assign(h.initial, setup);
  let seq = 0;
  build({
    ev: (e) => h.events.push(e),
    say: (from) => {
      seq++;
      h.events.push({ type: 'message', from, seq, text: `m${seq}` });
    },
  });
  return h;
}

const seqs = (r: PredictedRecording | undefined) => (r?.entries ?? []).flatMap((e) => (e.type === 'message' ? [e.seq] : []));
const required = (r: PredictedRecording | undefined) => (r?.entries ?? []).filter((e) => e.type === 'message' || !e.optional).map(describeEntry);
const byKey = (h: ChatHistory, key: string, draws = {}) => predict(h, draws).recordings.find((r) => r.key === key);

describe('the reference model of the recording rules', () => {
  it('an agent recording captures from the join to the end; a message before the join is not in it', () => {
    const h = chat(({ ev, say }) => {
      say(F);
      ev({ type: 'assign', agentId: 'a' });
      ev({ type: 'join', who: A });
      say(C);
      say(A);
      ev({ type: 'end', how: 'agent' });
    });
    const r = byKey(h, 'agent:a');
    expect(r).toMatchObject({ produced: true, reasons: ['recorded'] });
    expect(required(r)).toEqual(['[join] agent a joined', '#2 customer: m2', '#3 agent: m3']);
  });

  it('transfer A -> B -> A: one recording per account, each capturing only while that agent is in', () => {
    const h = chat(({ ev, say }) => {
      ev({ type: 'assign', agentId: 'a' });
      ev({ type: 'join', who: A });
      say(C); // 1: a
      ev({ type: 'transfer', by: A, toAgentId: 'b' });
      say(C); // 2: nobody
      ev({ type: 'join', who: B });
      say(B); // 3: b
      ev({ type: 'transfer', by: B, toAgentId: 'a' });
      ev({ type: 'join', who: A });
      say(A); // 4: a
      ev({ type: 'end', how: 'flow' });
    });
    const p = predict(h);
    expect(p.recordings.map((r) => r.key)).toEqual(['agent:a', 'agent:b']);
    expect(seqs(p.recordings[0])).toEqual([1, 4]);
    expect(seqs(p.recordings[1])).toEqual([3]);
    expect(required(p.recordings[0])).toEqual([
      '[join] agent a joined',
      '#1 customer: m1',
      '[transfer] transfer by agent a to b',
      '[join] agent a joined',
      '#4 agent: m4',
    ]);
  });

  it('a supervisor who leaves and rejoins: the gap is not captured, the leave and rejoin are marked', () => {
    const h = chat(({ ev, say }) => {
      ev({ type: 'join', who: S });
      say(C);
      ev({ type: 'leave', who: S });
      say(C);
      ev({ type: 'join', who: S });
      say(C);
      ev({ type: 'end', how: 'customer' });
    });
    expect(required(byKey(h, 'agent:s'))).toEqual([
      '[join] supervisor s joined',
      '#1 customer: m1',
      '[leave] supervisor s left',
      '[join] supervisor s joined',
      '#3 customer: m3',
    ]);
  });

  it('pause: nothing captured, bodies never stored, the file shows the pause and the resume', () => {
    const h = chat(({ ev, say }) => {
      ev({ type: 'join', who: S });
      ev({ type: 'pause', by: S });
      say(C);
      ev({ type: 'join', who: B });
      ev({ type: 'resume', by: S });
      say(C);
      ev({ type: 'end', how: 'customer' });
    });
    const p = predict(h);
    expect(required(p.recordings[0])).toEqual(['[join] supervisor s joined', '[pause] paused by s', '[resume] resumed by s', '#2 customer: m2']);
    // b joined while paused: its own join marker may or may not be shown
    expect(p.recordings[1].entries.map(describeEntry)).toEqual(['[join?] agent b joined', '[resume] resumed by s', '#2 customer: m2']);
    expect(p.unstored).toEqual([1]);
  });

  it('the company switch: what is sent while off is never captured; the decision reads it at the end', () => {
    const offMidway = chat(({ ev, say }) => {
      ev({ type: 'join', who: A });
      ev({ type: 'companySwitch', on: false });
      say(C);
      ev({ type: 'companySwitch', on: true });
      say(C);
      ev({ type: 'end', how: 'agent' });
    });
    expect(predict(offMidway).recordings[0]).toMatchObject({ produced: true });
    expect(seqs(predict(offMidway).recordings[0])).toEqual([2]);
    expect(predict(offMidway).unstored).toEqual([1]);

    const offAtEnd = chat(({ ev, say }) => {
      ev({ type: 'join', who: A });
      say(C);
      ev({ type: 'abuse', by: A });
      ev({ type: 'companySwitch', on: false });
      ev({ type: 'end', how: 'agent' });
    });
    expect(predict(offAtEnd).recordings[0]).toMatchObject({ produced: false, reasons: ['company_recording_off'] });
    expect(predict(offAtEnd).allBodiesPurged).toBe(true);
  });

  it('(a) a non-permitting agent who took part vetoes every recording, also after a transfer', () => {
    const h = chat(
      ({ ev, say }) => {
        ev({ type: 'join', who: A });
        ev({ type: 'flowStart', recordingId: 'r1', profile: 'p' });
        ev({ type: 'transfer', by: A, toAgentId: 'b' });
        ev({ type: 'join', who: B });
        say(B);
        ev({ type: 'end', how: 'agent' });
      },
      { agents: { a: { permitRecordings: false, samplingPercent: 100 } }, profiles: { agent: 1, p: 1 } },
    );
    expect(predict(h).recordings.map((r) => [r.key, r.produced, r.reasons])).toEqual([
      ['agent:a', false, ['agent_not_permitted']],
      ['agent:b', false, ['agent_not_permitted']],
      ['flow:r1', false, ['agent_not_permitted']],
    ]);
  });

  it('(a) with the setting changed after the join: the two readings the contract allows', () => {
    const h = chat(
      ({ ev }) => {
        ev({ type: 'join', who: S });
        ev({ type: 'agentSettings', agentId: 's', permitRecordings: true });
        ev({ type: 'end', how: 'flow' });
      },
      { agents: { s: { permitRecordings: false, samplingPercent: 100 } } },
    );
    expect(predict(h, {}, 'at_end').recordings[0]).toMatchObject({ produced: true, reasons: ['recorded'] });
    expect(predict(h, {}, 'at_join').recordings[0]).toMatchObject({ produced: false, reasons: ['agent_not_permitted'] });
  });

  it('(b), (c) and the abuse override', () => {
    const deleted = chat(({ ev }) => {
      ev({ type: 'join', who: A });
      ev({ type: 'deletionRequest' });
      ev({ type: 'deletionConfirm', by: A });
      ev({ type: 'end', how: 'agent' });
    });
    expect(predict(deleted).recordings[0]).toMatchObject({ produced: false, reasons: ['deletion_confirmed'] });
    const refused = chat(({ ev }) => {
      ev({ type: 'join', who: A });
      ev({ type: 'consent', granted: false, by: 'customer' });
      ev({ type: 'discard' });
      ev({ type: 'end', how: 'agent' });
    });
    expect(predict(refused).recordings[0]).toMatchObject({ produced: false, reasons: ['consent_refused', 'discarded'] });
    const abusive = chat(({ ev }) => {
      ev({ type: 'join', who: A });
      ev({ type: 'consent', granted: false, by: 'flow' });
      ev({ type: 'abuse', by: F });
      ev({ type: 'end', how: 'agent' });
    });
    expect(predict(abusive).recordings[0]).toMatchObject({ produced: true, reasons: ['abusive_override'] });
  });

  it('sampling is drawn once at the first join; flow recordings are not sampled', () => {
    const h = chat(
      ({ ev }) => {
        ev({ type: 'join', who: A });
        ev({ type: 'agentSettings', agentId: 'a', samplingPercent: 100 });
        ev({ type: 'join', who: B });
        ev({ type: 'flowStart', recordingId: 'r1', profile: 'agent' });
        ev({ type: 'end', how: 'flow' });
      },
      { agents: { a: { permitRecordings: true, samplingPercent: 0 }, b: { permitRecordings: true, samplingPercent: 50 } } },
    );
    expect(() => predict(h)).toThrow(/draw of agent:b/);
    const p = predict(h, { b: true });
    expect(p.recordings.map((r) => [r.key, r.produced, r.reasons])).toEqual([
      ['agent:a', false, ['not_sampled']],
      ['agent:b', true, ['recorded']],
      ['flow:r1', true, ['recorded']],
    ]);
  });

  it('a recording keeps the profile as it was when it started', () => {
    const h = chat(
      ({ ev }) => {
        ev({ type: 'flowStart', recordingId: 'r1', profile: 'p' });
        ev({ type: 'profile', name: 'p', version: 2 });
        ev({ type: 'flowStart', recordingId: 'r2', profile: 'p' });
        ev({ type: 'profile', name: 'p', version: null });
        ev({ type: 'end', how: 'flow' });
      },
      { profiles: { agent: 1, p: 1 } },
    );
    expect(predict(h).recordings.map((r) => r.profileVersion)).toEqual([1, 2]);
  });

  it('matching a file against the prediction: optional markers may be missing, nothing else', () => {
    const m = (seq: number): Entry => ({ type: 'message', seq, role: 'customer', text: `m${seq}` });
    const k = (kind: 'join' | 'leave', optional = false): Entry => ({ type: 'marker', kind, optional, why: '' });
    expect(matches([k('join', true), k('join'), m(1)], [k('join'), m(1)])).toBe(true);
    expect(matches([k('join', true), k('join'), m(1)], [k('join'), k('join'), m(1)])).toBe(true);
    expect(matches([k('join'), m(1)], [m(1)])).toBe(false);
    expect(matches([k('join'), m(1)], [k('join'), m(1), m(1)])).toBe(false);
    expect(matches([m(1), k('leave')], [k('leave'), m(1)])).toBe(false);
  });
});
