import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { Ack, AppHandle, connect, emit, http, sleep, token, waitFor } from '../support/app';
import { relativeFilesUnder } from '../support/files';
import type { SshdHandle } from '../support/sshd';
import type { TcpProxy } from '../support/tcp-proxy';
import { Action, BurstOp, describeAction, FLOW_PROFILES, Sender, Setup, STAFF, StaffId } from './actions';
import { COMPARED_MARKERS, describeEntry, Entry, MarkerKind, matches } from './capture';
import { Actor, AGENT_PROFILE, ChatHistory, emptyHistory, HistoryEvent, Role, Staff } from './history';
import { predict, Prediction } from './model';
import { drawsNeeded, PERMIT_READINGS, recordingKey } from './rules';
import { ChatState, stateAfter } from './state';

// The real system under test and one chat driven through it: every action goes over socket.io or
// REST to the built service, and each one it accepts is appended to the chat's history, which the
// reference model reads at the end.

export interface World {
  name: string;
  apps: AppHandle[];
  // Where a company's files land: the sshd's folder, or the local export folder.
  filesRoot(company: string): string;
  sshd?: SshdHandle;
  dbProxy?: TcpProxy;
  // The stored bodies of a chat's messages by seq (null: never stored or purged).
  bodies(chatId: string): Promise<Map<number, string | null>>;
  // The first seq at which the chat's message chain does not verify (docs/integrity.md), or null.
  chainBreak(chatId: string): Promise<number | null>;
}

export class ModelMismatch extends Error {}

type Expect = 'yes' | 'no' | 'either';
interface Sent {
  clientMsgId: string;
  text: string;
  seq: number;
}
interface RecordingView {
  id: string;
  kind: 'agent' | 'flow';
  profile: string;
  agentId: string | null;
  status: string;
  fileName: string | null;
  lastError: string | null;
  outcome: { produced: boolean; reason: string } | null;
  sampling: { sampledIn: boolean } | null;
}

const ROLE_OF: Record<StaffId, 'agent' | 'supervisor'> = { p1: 'agent', p2: 'agent', p3: 'supervisor' };
const staffActor = (id: StaffId): Staff => ({ role: ROLE_OF[id], id });
const isStaff = (s: Sender): s is StaffId => (STAFF as readonly string[]).includes(s);
const ACK_MS = 8_000;

// The file name shows the recording and the profile version it used; flow files carry the label.
export const templateOf = (profile: string, version: number) =>
  `mbt/{{chatId}}/{{recordingId}}-${profile}-v${version}${profile === AGENT_PROFILE ? '' : '-{{label}}'}`;
const LONG_LABEL = 'ü'.repeat(150);
const utf8Bytes = (x: string) => Buffer.byteLength(x, 'utf8');

export class ChatRun {
  readonly history: ChatHistory = emptyHistory();
  readonly log: string[] = [];
  chatId = '';
  private customerToken = '';
  private readonly company: string;
  private readonly admin: string;
  private readonly flow: string;
  private readonly sockets = new Map<'customer' | StaffId, { socket: Socket; instance: number }>();
  private readonly sent = new Map<Sender, Sent[]>();
  private readonly counters = new Map<Sender, number>();
  private readonly flowRecordings: string[] = [];
  private readonly labels = new Map<string, string>();
  private readonly profiles: Record<string, number | null> = { agent: 1, fa: 1, fb: 1 };
  private sshdDown = false;

  constructor(
    private readonly world: World,
    private readonly setup: Setup,
    // The same clientMsgIds for every sender (true), or each its own.
    private readonly clash = !process.env.MBT_NO_CLASH,
  ) {
    this.company = `mbt-${randomBytes(5).toString('hex')}`;
    this.admin = token({ sub: 'adm', company: this.company, role: 'admin' });
    // The flow's sub is p3, the supervisor's id: ids are per role.
    this.flow = token({ sub: 'p3', company: this.company, role: 'flow' });
  }

  state(): ChatState {
    return stateAfter(this.history);
  }

  private app(instance = 0): AppHandle {
    return this.world.apps[instance % this.world.apps.length];
  }

  private async rest(method: string, path: string, body?: unknown, bearer = this.admin): Promise<{ status: number; body: Record<string, unknown> }> {
    return http(this.app(), method, path, bearer, body);
  }

  private async restOk(method: string, path: string, body?: unknown, bearer = this.admin): Promise<Record<string, unknown>> {
    const r = await this.rest(method, path, body, bearer);
    if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  // A fresh company per run: its own settings, agents, profiles and files.
  async open(): Promise<void> {
    if (this.world.sshd) {
      const s = this.world.sshd;
      await this.restOk('PUT', '/v1/admin/export-target', {
        type: 'sftp',
        host: s.host,
        port: s.port,
        username: s.username,
        privateKey: s.privateKey,
        remoteDir: s.remoteDir,
        hostKeySha256: s.hostKeySha256,
      });
    }
    await this.restOk('PUT', `/v1/admin/profiles/${AGENT_PROFILE}`, { filenameTemplate: templateOf(AGENT_PROFILE, 1), format: 'json' });
    for (const p of FLOW_PROFILES) await this.restOk('POST', '/v1/admin/profiles', { name: p, filenameTemplate: templateOf(p, 1), format: 'json' });
    for (const id of STAFF) {
      const a = this.setup.agents[id];
      await this.restOk('PUT', `/v1/admin/agents/${id}`, { permitRecordings: a.permit, samplingPercent: a.sampling, login: id });
      this.history.initial.agents[id] = { permitRecordings: a.permit, samplingPercent: a.sampling };
    }
    this.history.initial.profiles = { agent: 1, fa: 1, fb: 1 };
    const created = await this.restOk('POST', '/v1/flow/chats', { service: 'mbt', customer: { id: 'p1', name: 'Carol' } }, this.flow);
    this.chatId = String(created.chatId);
    this.customerToken = String(created.customerToken);
    await this.connectClient('customer', 0);
    for (const id of STAFF) await this.connectClient(id, 0);
    this.log.push(`setup: agent settings ${JSON.stringify(this.setup.agents)}`);
    if (this.setup.routed) {
      await this.execute({ t: 'assign', to: 'p1' });
      await this.execute({ t: 'join', who: 'p1' });
    }
  }

  private async connectClient(who: 'customer' | StaffId, instance: number): Promise<void> {
    this.sockets.get(who)?.socket.close();
    const tok = who === 'customer' ? this.customerToken : token({ sub: who, company: this.company, role: ROLE_OF[who], name: `Name ${who}` });
    const socket = await connect(this.app(instance), who === 'customer' ? '/customer' : '/agent', tok);
    this.sockets.set(who, { socket, instance: instance % this.world.apps.length });
  }

  // After a run, failed or not: no fault may outlive it into the next run.
  async close(): Promise<void> {
    for (const s of this.sockets.values()) s.socket.close();
    this.sockets.clear();
    this.world.dbProxy?.resetAfterBytes(null);
    if (this.sshdDown) {
      await this.world.sshd?.start();
      this.sshdDown = false;
    }
  }

  private socket(who: 'customer' | StaffId): Socket {
    const s = this.sockets.get(who);
    if (!s) throw new Error(`no socket for ${who}`);
    return s.socket;
  }

  // ---------------------------------------------------------------------------------------------
  // Which actions make sense now (fast-check skips the others).

  applicable(a: Action): boolean {
    const s = this.state();
    // Faults may strike after the end too, while the files are on their way.
    if (a.t === 'sshdStop') return !this.sshdDown;
    if (a.t === 'sshdStart') return this.sshdDown;
    if (a.t === 'kill9' || a.t === 'dbCut') return true;
    if (a.t === 'reconnect') return a.instance < this.world.apps.length;
    if (s.ended) return false;
    const present = (id: string) => s.present.has(id);
    const canSend = (x: Sender) => !isStaff(x) || present(x);
    switch (a.t) {
      case 'say':
        return canSend(a.from);
      case 'chorus':
        return a.from.every(canSend);
      case 'resend':
        return canSend(a.from) && (this.sent.get(a.from)?.length ?? 0) > 0;
      case 'burst':
      case 'leave':
      case 'pause':
      case 'resume':
      case 'deleteConfirm':
        return present(a.t === 'burst' ? a.by : a.t === 'leave' ? a.who : a.by);
      case 'assign':
        // First routing only: a re-assignment while someone is in is a transfer.
        return s.assignedTo === null;
      case 'join':
        return true;
      case 'transfer':
        if (a.by === 'flow') return s.assignedTo !== null && s.assignedTo !== a.to;
        return present(a.by) && s.assignedTo === a.by && a.to !== a.by;
      case 'consent':
        // One answer per chat: whether a later answer replaces a refusal is open in the contract.
        return s.consent === null;
      case 'deleteRequest':
        return !s.deletionRequested;
      case 'abuse':
        return a.by === 'flow' || present(a.by);
      case 'discard':
        return !s.discarded;
      case 'flowStop':
        return this.flowRecordings.length > 0;
      case 'profile':
        return !(a.name === AGENT_PROFILE && a.op === 'delete');
      case 'end':
        return a.how !== 'agent' || s.present.size > 0;
      case 'consentRequest':
      case 'flowStart':
      case 'agentSettings':
      case 'switch':
        return true;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Doing it.

  private record(e: HistoryEvent): void {
    this.history.events.push(e);
  }

  private check(what: string, expected: Expect, ok: boolean, answer: unknown): boolean {
    if (expected === 'yes' && !ok) throw new ModelMismatch(`${what}: refused, but the contract accepts it: ${JSON.stringify(answer)}`);
    if (expected === 'no' && ok) throw new ModelMismatch(`${what}: accepted, but the contract refuses it: ${JSON.stringify(answer)}`);
    return ok;
  }

  private nextMessage(from: Sender): { clientMsgId: string; text: string } {
    const n = (this.counters.get(from) ?? 0) + 1;
    this.counters.set(from, n);
    // The same clientMsgIds for every sender: a resend is keyed by sender and role. (Without clash
    // each sender has its own, to look past that defect while looking for others.)
    return { clientMsgId: this.clash ? `m${n}` : `${from}-m${n}`, text: `${from} says ${n}` };
  }

  private actorOf(from: Sender): Actor {
    if (from === 'customer') return { role: 'customer', id: 'p1' };
    if (from === 'flow') return { role: 'flow', id: 'p3' };
    return staffActor(from);
  }

  // Sends (or resends) one message; resolves with the service's answer.
  private async post(from: Sender, m: { clientMsgId: string; text: string }, timeoutMs = ACK_MS): Promise<Ack> {
    if (from === 'flow') {
      try {
        const r = await http<Record<string, unknown>>(this.app(), 'POST', `/v1/flow/chats/${this.chatId}/messages`, this.flow, {
          text: m.text,
          clientMsgId: m.clientMsgId,
        });
        return r.status === 201 ? { ok: true, ...r.body } : { ok: false, error: { code: String(r.body?.code), message: String(r.body?.message) } };
      } catch (e) {
        return { ok: false, error: { code: 'network', message: String(e) } };
      }
    }
    const payload = from === 'customer' ? m : { chatId: this.chatId, ...m };
    try {
      return await emit(this.socket(from), 'message', payload, timeoutMs);
    } catch (e) {
      return { ok: false, error: { code: 'timeout', message: String(e) } };
    }
  }

  private acceptMessage(from: Sender, m: { clientMsgId: string; text: string }, ack: Ack): void {
    if (!ack.ok) throw new ModelMismatch(`${from}'s message ${m.clientMsgId} refused: ${JSON.stringify(ack)}`);
    const seq = Number(ack.seq);
    const list = this.sent.get(from) ?? [];
    if (list.some((x) => x.clientMsgId === m.clientMsgId)) {
      const prev = list.find((x) => x.clientMsgId === m.clientMsgId) as Sent;
      if (prev.seq !== seq) throw new ModelMismatch(`${from} resent ${m.clientMsgId}: answered seq ${seq}, first answer was ${prev.seq}`);
      return;
    }
    // An acknowledged message is stored once: two different messages never share a seq.
    for (const [other, msgs] of this.sent) {
      const clash = msgs.find((x) => x.seq === seq);
      if (clash)
        throw new ModelMismatch(
          `${from}'s message ${m.clientMsgId} was answered with seq ${seq}, already the seq of ${other}'s ${clash.clientMsgId}: one of them is lost`,
        );
    }
    list.push({ ...m, seq });
    this.sent.set(from, list);
    this.record({ type: 'message', from: this.actorOf(from), seq, text: m.text });
  }

  // A resend after a fault: the same clientMsgId until it is acknowledged (bounded).
  private async untilAcked(from: Sender, m: { clientMsgId: string; text: string }): Promise<Ack> {
    let last: Ack = { ok: false };
    for (let i = 0; i < 20; i++) {
      last = await this.post(from, m, 4_000);
      if (last.ok) return last;
      await sleep(500);
    }
    return last;
  }

  private async say(from: Sender, n: number, wait: boolean): Promise<void> {
    const msgs = Array.from({ length: n }, () => this.nextMessage(from));
    if (wait) {
      for (const m of msgs) this.acceptMessage(from, m, await this.post(from, m));
      return;
    }
    const acks = await Promise.all(msgs.map((m) => this.post(from, m)));
    // One socket's events are handled in the order they were sent (the flow's parallel posts are not).
    if (from !== 'flow') {
      for (let i = 1; i < acks.length; i++) {
        if (acks[i].ok && acks[i - 1].ok && Number(acks[i].seq) <= Number(acks[i - 1].seq)) {
          throw new ModelMismatch(`${from}'s messages out of order: ${msgs.map((m, j) => `${m.clientMsgId}->seq ${String(acks[j].seq)}`).join(', ')}`);
        }
      }
    }
    const order = msgs.map((m, i) => ({ m, ack: acks[i] })).sort((x, y) => Number(x.ack.seq) - Number(y.ack.seq));
    for (const { m, ack } of order) this.acceptMessage(from, m, ack);
  }

  private async chorus(from: Sender[]): Promise<void> {
    const msgs = from.map((f) => ({ f, m: this.nextMessage(f) }));
    const acks = await Promise.all(msgs.map(({ f, m }) => this.post(f, m)));
    const order = msgs.map((x, i) => ({ ...x, ack: acks[i] })).sort((x, y) => Number(x.ack.seq) - Number(y.ack.seq));
    for (const { f, m, ack } of order) this.acceptMessage(f, m, ack);
  }

  private async resend(from: Sender, pick: number): Promise<void> {
    const list = this.sent.get(from) ?? [];
    const m = list[pick % list.length];
    this.acceptMessage(from, m, await this.post(from, m));
  }

  // Back-to-back events of one staff socket, then their answers in order.
  private async burst(by: StaffId, ops: BurstOp[]): Promise<void> {
    const sock = this.socket(by);
    const planned = ops.map((op) => {
      if (op === 'msg' || (op === 'resend' && !(this.sent.get(by)?.length ?? 0))) {
        const m = this.nextMessage(by);
        return { op: 'msg' as const, m, p: emit(sock, 'message', { chatId: this.chatId, ...m }, ACK_MS) };
      }
      if (op === 'resend') {
        const list = this.sent.get(by) as Sent[];
        const m = list[list.length - 1];
        return { op: 'msg' as const, m, p: emit(sock, 'message', { chatId: this.chatId, clientMsgId: m.clientMsgId, text: m.text }, ACK_MS) };
      }
      return { op, m: null, p: emit(sock, op === 'pause' ? 'recording.pause' : 'recording.resume', { chatId: this.chatId }, ACK_MS) };
    });
    const acks = await Promise.all(planned.map((x) => x.p.catch((e: unknown) => ({ ok: false, error: { code: 'timeout', message: String(e) } }) as Ack)));
    let lastSeq = 0;
    planned.forEach((x, i) => {
      const ack = acks[i];
      if (x.m) {
        const isNew = !(this.sent.get(by) ?? []).some((s) => s.clientMsgId === x.m.clientMsgId);
        if (ack.ok && isNew) {
          if (Number(ack.seq) <= lastSeq) throw new ModelMismatch(`${by}'s events handled out of order: ${ops.join(', ')} gave ${JSON.stringify(acks)}`);
          lastSeq = Number(ack.seq);
        }
        this.acceptMessage(by, x.m, ack);
      } else {
        const paused = this.state().paused;
        const want: Expect = x.op === 'pause' ? (paused ? 'either' : 'yes') : paused ? 'yes' : 'either';
        if (this.check(`${by} ${x.op}`, want, ack.ok, ack)) this.record({ type: x.op === 'pause' ? 'pause' : 'resume', by: staffActor(by) });
      }
    });
    // The pause state the events leave behind is the one of the last of them.
    const view = await this.rest('GET', `/v1/admin/chats/${this.chatId}`);
    const paused = (view.body.flags as { paused?: boolean } | undefined)?.paused;
    if (paused !== undefined && paused !== this.state().paused) {
      throw new ModelMismatch(
        `after ${by}'s back-to-back ${ops.join(', ')} the chat is ${paused ? '' : 'not '}paused: the events were not applied in the order sent (${JSON.stringify(acks)})`,
      );
    }
  }

  private async staffEvent(by: StaffId, event: string, payload: Record<string, unknown>, want: Expect, onOk: () => HistoryEvent | null): Promise<void> {
    let ack: Ack;
    try {
      ack = await emit(this.socket(by), event, { chatId: this.chatId, ...payload }, ACK_MS);
    } catch (e) {
      ack = { ok: false, error: { code: 'timeout', message: String(e) } };
    }
    if (this.check(`${by} ${event}`, want, ack.ok, ack)) {
      const e = onOk();
      if (e) this.record(e);
    }
  }

  private async flowCall(path: string, body: unknown, want: Expect, onOk: (b: Record<string, unknown>) => HistoryEvent | null): Promise<void> {
    const r = await this.rest('POST', `/v1/flow/chats/${this.chatId}${path}`, body, this.flow);
    if (this.check(`flow ${path}`, want, r.status < 300, r)) {
      const e = onOk(r.body);
      if (e) this.record(e);
    }
  }

  async execute(a: Action): Promise<void> {
    this.log.push(describeAction(a));
    const s = this.state();
    switch (a.t) {
      case 'say':
        return this.say(a.from, a.n, a.wait);
      case 'chorus':
        return this.chorus(a.from);
      case 'resend':
        return this.resend(a.from, a.pick);
      case 'burst':
        return this.burst(a.by, a.ops);
      case 'assign':
        return this.flowCall('/assign', { agentId: a.to }, 'yes', () => ({ type: 'assign', agentId: a.to }));
      case 'join': {
        const want: Expect = ROLE_OF[a.who] === 'supervisor' || s.assignedTo === a.who || s.present.has(a.who) ? 'yes' : 'no';
        return this.staffEvent(a.who, 'chat.join', {}, want, () => ({ type: 'join', who: staffActor(a.who) }));
      }
      case 'leave':
        return this.staffEvent(a.who, 'chat.leave', {}, 'yes', () => ({ type: 'leave', who: staffActor(a.who) }));
      case 'transfer':
        if (a.by === 'flow')
          return this.flowCall('/transfer', { toAgentId: a.to }, 'yes', () => ({ type: 'transfer', by: this.actorOf('flow'), toAgentId: a.to }));
        return this.staffEvent(a.by, 'chat.transfer', { toAgentId: a.to }, 'yes', () => ({
          type: 'transfer',
          by: staffActor(a.by as StaffId),
          toAgentId: a.to,
        }));
      case 'pause':
        return this.staffEvent(a.by, 'recording.pause', {}, s.paused ? 'either' : 'yes', () => ({ type: 'pause', by: staffActor(a.by) }));
      case 'resume':
        return this.staffEvent(a.by, 'recording.resume', {}, s.paused ? 'yes' : 'either', () => ({ type: 'resume', by: staffActor(a.by) }));
      case 'consentRequest':
        return this.flowCall('/consent/request', { prompt: 'May we record this chat?' }, 'yes', () => ({ type: 'consentRequest' }));
      case 'consent': {
        if (a.by === 'flow') return this.flowCall('/consent', { granted: a.granted }, 'yes', () => ({ type: 'consent', granted: a.granted, by: 'flow' }));
        const ack = await emit(this.socket('customer'), 'consent.answer', { granted: a.granted }, ACK_MS);
        if (this.check('customer consent.answer', 'yes', ack.ok, ack)) this.record({ type: 'consent', granted: a.granted, by: 'customer' });
        return;
      }
      case 'deleteRequest': {
        const ack = await emit(this.socket('customer'), 'recording.deleteRequest', {}, ACK_MS);
        if (this.check('customer recording.deleteRequest', 'yes', ack.ok, ack)) this.record({ type: 'deletionRequest' });
        return;
      }
      case 'deleteConfirm':
        return this.staffEvent(a.by, 'recording.delete', {}, s.deletionRequested ? 'yes' : 'no', () => ({ type: 'deletionConfirm', by: staffActor(a.by) }));
      case 'abuse':
        if (a.by === 'flow') return this.flowCall('/abusive', { reason: 'mbt' }, 'yes', () => ({ type: 'abuse', by: this.actorOf('flow') }));
        return this.staffEvent(a.by, 'chat.flagAbusive', { reason: 'mbt' }, 'yes', () => ({ type: 'abuse', by: staffActor(a.by as StaffId) }));
      case 'discard':
        return this.flowCall('/discard', {}, 'yes', () => ({ type: 'discard' }));
      case 'flowStart': {
        const label = `${a.longLabel ? LONG_LABEL : 'l'}${this.flowRecordings.length}`;
        return this.flowCall(
          '/recordings',
          { profile: a.profile, label },
          // A refusal is right too while the switch is off, or for a label that cannot fit a file name.
          this.profiles[a.profile] === null ? 'no' : s.companySwitch && !a.longLabel ? 'yes' : 'either',
          (b) => {
            const recordingId = String(b.recordingId);
            this.flowRecordings.push(recordingId);
            this.labels.set(recordingId, label);
            return { type: 'flowStart', recordingId, profile: a.profile };
          },
        );
      }
      case 'flowStop': {
        const id = this.flowRecordings[a.pick % this.flowRecordings.length];
        return this.flowCall(`/recordings/${id}/stop`, {}, 'yes', () => ({ type: 'flowStop', recordingId: id }));
      }
      case 'profile': {
        const cur = this.profiles[a.name];
        const version = (this.history.events.filter((e) => e.type === 'profile' && e.name === a.name).length + 2) as number;
        if (a.op === 'delete' && cur !== null) {
          await this.restOk('DELETE', `/v1/admin/profiles/${a.name}`);
          this.profiles[a.name] = null;
          this.record({ type: 'profile', name: a.name, version: null });
        } else if (cur === null) {
          await this.restOk('POST', '/v1/admin/profiles', { name: a.name, filenameTemplate: templateOf(a.name, version), format: 'json' });
          this.profiles[a.name] = version;
          this.record({ type: 'profile', name: a.name, version });
        } else {
          await this.restOk('PUT', `/v1/admin/profiles/${a.name}`, { filenameTemplate: templateOf(a.name, version), format: 'json' });
          this.profiles[a.name] = version;
          this.record({ type: 'profile', name: a.name, version });
        }
        return;
      }
      case 'agentSettings': {
        const body: Record<string, unknown> = {};
        if (a.permit !== undefined) body.permitRecordings = a.permit;
        if (a.sampling !== undefined) body.samplingPercent = a.sampling;
        await this.restOk('PUT', `/v1/admin/agents/${a.agent}`, body);
        this.record({ type: 'agentSettings', agentId: a.agent, permitRecordings: a.permit, samplingPercent: a.sampling });
        return;
      }
      case 'switch': {
        const on = !s.companySwitch;
        this.log[this.log.length - 1] = `admin turns the company switch ${on ? 'on' : 'off'}`;
        await this.restOk('PUT', '/v1/admin/settings', { recordingEnabled: on });
        this.record({ type: 'companySwitch', on });
        return;
      }
      case 'reconnect':
        return this.connectClient(a.who, a.instance);
      case 'kill9':
        return this.kill9(a.instance, a.inFlight);
      case 'dbCut':
        return this.dbCut(a.from);
      case 'sshdStop':
        await this.world.sshd?.stop();
        this.sshdDown = true;
        return;
      case 'sshdStart':
        await this.world.sshd?.start();
        this.sshdDown = false;
        return;
      case 'end':
        return this.end(a.how);
    }
  }

  private async kill9(instance: number, inFlight: Sender | null): Promise<void> {
    const app = this.app(instance);
    const s = this.state();
    const sender = inFlight && !s.ended && (!isStaff(inFlight) || s.present.has(inFlight)) ? inFlight : null;
    const m = sender ? this.nextMessage(sender) : null;
    const pending = sender && m ? this.post(sender, m, 3_000) : null;
    await app.kill();
    await pending;
    await app.restart();
    for (const [who, x] of [...this.sockets]) if (x.instance === instance % this.world.apps.length) await this.connectClient(who, x.instance);
    if (sender && m) this.acceptMessage(sender, m, await this.untilAcked(sender, m));
  }

  private async dbCut(from: Sender): Promise<void> {
    const proxy = this.world.dbProxy;
    const s = this.state();
    if (s.ended) {
      proxy?.resetAfterBytes(0);
      await sleep(1_500);
      proxy?.resetAfterBytes(null);
      return;
    }
    const sender = !isStaff(from) || s.present.has(from) ? from : 'customer';
    const m = this.nextMessage(sender);
    proxy?.resetAfterBytes(0);
    const first = this.post(sender, m, 4_000);
    await sleep(1_500);
    proxy?.resetAfterBytes(null);
    const ack = await first;
    this.acceptMessage(sender, m, ack.ok ? ack : await this.untilAcked(sender, m));
  }

  private async end(how: 'agent' | 'customer' | 'flow' | 'idle'): Promise<void> {
    const s = this.state();
    if (how === 'agent') {
      const by = [...s.present.keys()][0] as StaffId;
      const ack = await emit(this.socket(by), 'chat.end', { chatId: this.chatId }, ACK_MS);
      this.check(`${by} chat.end`, 'yes', ack.ok, ack);
    } else if (how === 'customer') {
      const ack = await emit(this.socket('customer'), 'chat.end', {}, ACK_MS);
      this.check('customer chat.end', 'yes', ack.ok, ack);
    } else if (how === 'flow') {
      await this.restOk('POST', `/v1/flow/chats/${this.chatId}/end`, {}, this.flow);
    } else {
      await this.restOk('PUT', '/v1/admin/settings', { idleTimeoutSeconds: 5 });
      await waitFor('the idle timeout to end the chat', async () => (await this.rest('GET', `/v1/admin/chats/${this.chatId}`)).body.endedAt, 30_000);
    }
    this.record({ type: 'end', how });
  }

  // ---------------------------------------------------------------------------------------------
  // The end of a run: end the chat if no action did, let delivery settle, compare with the model.

  async finishAndCheck(): Promise<void> {
    if (!this.state().ended) await this.execute({ t: 'end', how: 'flow' });
    if (this.sshdDown) await this.execute({ t: 'sshdStart' });
    const expectedCount = this.state().joined.size + this.state().flow.size;
    let recs: RecordingView[] = [];
    try {
      recs = await waitFor(
        'every recording of the chat to be final',
        async () => {
          const r = await http<RecordingView[]>(this.app(), 'GET', `/v1/admin/recordings?chatId=${this.chatId}&limit=1000`, this.admin);
          const list = r.status === 200 ? r.body : [];
          return list.length >= expectedCount && list.every((x) => ['delivered', 'suppressed', 'failed'].includes(x.status)) ? list : null;
        },
        45_000,
      );
    } catch {
      const r = await http<RecordingView[]>(this.app(), 'GET', `/v1/admin/recordings?chatId=${this.chatId}&limit=1000`, this.admin);
      throw new ModelMismatch(`recordings not final (or missing) after 45 s: ${JSON.stringify(r.body.map((x) => [x.kind, x.agentId ?? x.id, x.status]))}`);
    }
    await this.compare(recs);
  }

  private keyOf(r: RecordingView): string {
    return r.kind === 'agent' ? `agent:${r.agentId}` : `flow:${r.id}`;
  }

  // Compares under each reading the contract allows (see PERMIT_READINGS); one must fit entirely.
  private async compare(recs: RecordingView[]): Promise<void> {
    const draws: Record<string, boolean> = {};
    for (const id of drawsNeeded(this.history)) {
      const r = recs.find((x) => x.kind === 'agent' && x.agentId === id);
      if (r?.sampling) draws[id] = r.sampling.sampledIn;
    }
    const bodies = await this.world.bodies(this.chatId);
    // Whatever happened (kill -9, a cut database, two instances), the stored messages form one chain.
    const broken = await this.world.chainBreak(this.chatId);
    if (broken !== null) throw new ModelMismatch(`chat ${this.chatId} (company ${this.company}): the message chain breaks at seq ${broken}`);
    const explained = await http<{ recordings?: RecordingView[] }>(this.app(), 'GET', `/v1/admin/chats/${this.chatId}`, this.admin);
    let best: string[] | null = null;
    for (const reading of PERMIT_READINGS) {
      let prediction: Prediction;
      try {
        prediction = predict(this.history, draws, reading);
      } catch (e) {
        throw new ModelMismatch(`the model cannot decide: ${String(e)} (recordings: ${JSON.stringify(recs)})`);
      }
      const problems = this.problems(prediction, recs, bodies, explained.body.recordings ?? []);
      if (problems.length === 0) return;
      if (best === null || problems.length < best.length) best = problems;
    }
    throw new ModelMismatch(`chat ${this.chatId} (company ${this.company}):\n  - ${(best ?? []).join('\n  - ')}`);
  }

  private problems(prediction: Prediction, recs: RecordingView[], bodies: Map<number, string | null>, explained: RecordingView[]): string[] {
    const problems: string[] = [];
    const byKey = new Map(recs.map((r) => [this.keyOf(r), r]));
    const predictedKeys = prediction.recordings.map((r) => r.key).sort();
    const actualKeys = [...byKey.keys()].sort();
    if (JSON.stringify(predictedKeys) !== JSON.stringify(actualKeys) || byKey.size !== recs.length) {
      problems.push(`recordings: expected ${predictedKeys.join(', ')}; the service has ${recs.map((r) => this.keyOf(r)).join(', ')}`);
    }
    const chatDir = join(this.world.filesRoot(this.company), 'mbt', this.chatId);
    const files = relativeFilesUnder(chatDir);
    const expectedFiles: string[] = [];
    for (const p of prediction.recordings) {
      const r = byKey.get(recordingKey(p.ref));
      if (!r) continue;
      const what = `${p.key} (${r.id})`;
      const reason = r.outcome?.reason ?? '(none)';
      if (p.produced) {
        if (r.status !== 'delivered') problems.push(`${what}: expected delivered (${p.reasons.join('|')}), is ${r.status} ${reason} ${r.lastError ?? ''}`);
      } else if (r.status !== 'suppressed') problems.push(`${what}: expected suppressed (${p.reasons.join('|')}), is ${r.status} (${reason})`);
      if (!(p.reasons as string[]).includes(reason)) problems.push(`${what}: reason ${reason}, expected ${p.reasons.join(' or ')}`);
      if (!p.produced || r.status !== 'delivered') continue;
      const profile = p.ref.kind === 'agent' ? AGENT_PROFILE : p.ref.profile;
      const stem = `${r.id}-${profile}-v${p.profileVersion}`;
      const label = p.ref.kind === 'flow' ? (this.labels.get(p.ref.recordingId) ?? '') : null;
      let name = label === null ? `${stem}.json` : `${stem}-${label}.json`;
      const dir = `mbt/${this.chatId}/`;
      if (label !== null && utf8Bytes(name) > 255) {
        // Too long for one segment: how the service shortens it is open, but it must stay one
        // segment of at most 255 bytes that still names this recording and the profile version.
        const got = r.fileName ?? '';
        const last = got.slice(dir.length);
        if (got.startsWith(dir) && last.startsWith(`${stem}-`) && last.endsWith('.json') && !last.includes('/') && utf8Bytes(last) <= 255) name = last;
        else problems.push(`${what}: delivered as ${got}, expected ${dir}${stem}-<label, shortened>.json in one segment of at most 255 bytes`);
      } else if (r.fileName !== `${dir}${name}`) {
        problems.push(`${what}: delivered as ${r.fileName}, expected ${dir}${name} (the profile as it was at the start)`);
      }
      expectedFiles.push(name);
      const path = join(chatDir, name);
      if (!existsSync(path)) continue;
      let delivered: Entry[];
      try {
        delivered = parseEntries(readFileSync(path, 'utf8'));
      } catch (e) {
        problems.push(`${what}: unreadable file ${name}: ${String(e)}`);
        continue;
      }
      if (!matches(p.entries, delivered)) {
        problems.push(
          `${what}: file content differs from the model\n      expected: ${p.entries.map(describeEntry).join(' | ')}\n      file:     ${delivered.map(describeEntry).join(' | ')}`,
        );
      }
    }
    if (JSON.stringify(files) !== JSON.stringify(expectedFiles.sort())) {
      problems.push(`files of the chat: expected [${expectedFiles.join(', ')}], found [${files.join(', ')}]`);
    }
    const kept = [...bodies].filter(([, t]) => t !== null).map(([seq]) => seq);
    if (prediction.allBodiesPurged && kept.length > 0) problems.push(`no recording produced, but bodies of seq ${kept.join(', ')} are still stored`);
    const leaked = prediction.unstored.filter((seq) => bodies.get(seq) !== null && bodies.get(seq) !== undefined);
    if (leaked.length > 0) problems.push(`bodies sent while paused or with the switch off were stored: seq ${leaked.join(', ')}`);
    for (const r of explained) {
      const same = byKey.get(this.keyOf(r));
      if (same && same.outcome?.reason !== r.outcome?.reason)
        problems.push(`${this.keyOf(r)}: the chat view explains ${r.outcome?.reason}, the recording says ${same.outcome?.reason}`);
    }
    return problems;
  }
}

// The delivered JSON transcript as model entries: messages, and the markers the model compares.
export function parseEntries(body: string): Entry[] {
  const doc = JSON.parse(body) as {
    entries: { type: string; seq?: number; role?: string; text?: string; kind?: string; actorRole?: string; actorName?: string }[];
  };
  const out: Entry[] = [];
  for (const e of doc.entries) {
    if (e.type === 'message') out.push({ type: 'message', seq: Number(e.seq), role: e.role as Role, text: String(e.text) });
    else if (e.type === 'marker' && (COMPARED_MARKERS as readonly string[]).includes(String(e.kind))) {
      out.push({ type: 'marker', kind: e.kind as MarkerKind, optional: false, why: `${e.actorRole} ${e.actorName}` });
    }
  }
  return out;
}
