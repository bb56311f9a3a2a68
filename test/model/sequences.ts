import { Action, Setup } from './actions';

// Fixed sequences run through the same driver and checks as the random ones: the orders of events
// behind the defects of issue 9, so that each is tried on every run whatever the random
// generator draws. Each reads as a small story; the model says what its files must hold.

export interface Sequence {
  name: string;
  actions: Action[];
  // Only where the world has these faults (MariaDB: database cut, sshd, two instances).
  needs?: 'dbCut' | 'sshd' | 'instances';
  // Senders share clientMsgIds (m1, m2, ...) only in the sequence about that; the others give
  // each sender its own, so that each sequence shows one thing.
  clash?: boolean;
}

export const EVERYONE_RECORDED: Setup = {
  agents: { p1: { permit: true, sampling: 100 }, p2: { permit: true, sampling: 100 }, p3: { permit: true, sampling: 100 } },
  routed: true,
};

export const SEQUENCES: Sequence[] = [
  {
    name: 'a customer and an agent with the same id and clientMsgId: two messages, not one resend',
    clash: true,
    actions: [
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'say', from: 'p1', n: 1, wait: true },
      { t: 'resend', from: 'customer', pick: 0 },
    ],
  },
  {
    name: "one socket's events take effect in the order sent",
    actions: [{ t: 'burst', by: 'p1', ops: ['msg', 'pause', 'msg', 'resume', 'msg', 'pause', 'resume'] }],
  },
  {
    name: 'transfer A -> B -> A: one file per agent, each only while that agent is in',
    actions: [
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'transfer', by: 'p1', to: 'p2' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'join', who: 'p2' },
      { t: 'say', from: 'p2', n: 1, wait: true },
      { t: 'transfer', by: 'p2', to: 'p1' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'join', who: 'p1' },
      { t: 'say', from: 'p1', n: 1, wait: true },
      { t: 'end', how: 'agent' },
    ],
  },
  {
    name: 'a supervisor leaves and rejoins: the gap is not in its file',
    actions: [
      { t: 'join', who: 'p3' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'leave', who: 'p3' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'join', who: 'p3' },
      { t: 'say', from: 'p3', n: 1, wait: true },
      { t: 'end', how: 'customer' },
    ],
  },
  {
    name: 'the company switch off and on again: what was sent meanwhile is never captured',
    actions: [
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'switch' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'say', from: 'flow', n: 1, wait: true },
      { t: 'switch' },
      { t: 'say', from: 'p1', n: 1, wait: true },
      { t: 'end', how: 'flow' },
    ],
  },
  {
    name: 'the company switch off at the end: nothing produced, even when abusive',
    actions: [
      { t: 'flowStart', profile: 'fa' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'abuse', by: 'p1' },
      { t: 'switch' },
      { t: 'end', how: 'agent' },
    ],
  },
  {
    name: 'profiles edited or deleted while their recordings run: the files follow the profiles as they were',
    actions: [
      { t: 'flowStart', profile: 'fa' },
      { t: 'flowStart', profile: 'fb' },
      { t: 'profile', name: 'fa', op: 'edit' },
      { t: 'profile', name: 'agent', op: 'edit' },
      { t: 'profile', name: 'fb', op: 'delete' },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'end', how: 'flow' },
    ],
  },
  {
    name: 'a label that makes a file name segment longer than 255 bytes',
    actions: [
      { t: 'flowStart', profile: 'fa', longLabel: true },
      { t: 'say', from: 'customer', n: 1, wait: true },
      { t: 'end', how: 'flow' },
    ],
  },
  {
    name: 'an idle chat ends by the timeout and is delivered',
    actions: [
      { t: 'say', from: 'customer', n: 2, wait: false },
      { t: 'end', how: 'idle' },
    ],
  },
  {
    name: 'kill -9 with a message in flight: stored once, delivered once',
    actions: [
      { t: 'say', from: 'p1', n: 1, wait: true },
      { t: 'kill9', instance: 0, inFlight: 'customer' },
      { t: 'resend', from: 'p1', pick: 0 },
      { t: 'end', how: 'customer' },
    ],
  },
  {
    name: 'the database cut with a message in flight',
    needs: 'dbCut',
    actions: [
      { t: 'dbCut', from: 'customer' },
      { t: 'say', from: 'p1', n: 1, wait: true },
    ],
  },
  {
    name: 'sshd down at the chat end, up later: delivered once',
    needs: 'sshd',
    actions: [{ t: 'say', from: 'customer', n: 1, wait: true }, { t: 'sshdStop' }, { t: 'end', how: 'flow' }, { t: 'sshdStart' }],
  },
  {
    name: 'clients spread over two instances, one of them killed',
    needs: 'instances',
    actions: [
      { t: 'reconnect', who: 'customer', instance: 1 },
      { t: 'say', from: 'customer', n: 2, wait: false },
      { t: 'kill9', instance: 1, inFlight: 'customer' },
      { t: 'say', from: 'p1', n: 1, wait: true },
      { t: 'end', how: 'customer' },
    ],
  },
];
