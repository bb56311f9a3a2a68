import { ClientError } from './client-error.js';
import type { AgentEventMap, JoinReply, RecordingStateValue, ServerEventMap } from './protocol.js';
import type { SentMessage } from './send-queue.js';
import { WebchatConnection, type ConnectOptions } from './webchat-connection.js';

// The agent portal's side (namespace /agent), for agents and supervisors. The chats it joined are
// joined again after every reconnect, and their history fills what was missed meanwhile.
export class AgentClient extends WebchatConnection<AgentEventMap> {
  private readonly joined = new Set<string>();

  constructor(options: ConnectOptions) {
    super('/agent', options);
  }

  // The chats this portal is in (joined, not left, transferred or ended).
  get chats(): string[] {
    return [...this.joined];
  }

  // Joins (joining again is harmless); the history is also delivered as `message` events.
  async join(chatId: string): Promise<JoinReply> {
    const reply = await this.request('chat.join', { chatId });
    this.joined.add(chatId);
    this.deliver(chatId, this.inbox(chatId).merge(reply.history));
    return reply;
  }

  send(chatId: string, text: string): Promise<SentMessage> {
    return this.sendMessage(chatId, text, (clientMsgId) => ({ chatId, clientMsgId, text }));
  }

  async pause(chatId: string): Promise<RecordingStateValue> {
    return (await this.request('recording.pause', { chatId })).recordingState;
  }

  async resume(chatId: string): Promise<RecordingStateValue> {
    return (await this.request('recording.resume', { chatId })).recordingState;
  }

  // After the customer asked (recording.deleteRequested): the press of the button is the agent's.
  async deleteRecording(chatId: string): Promise<void> {
    await this.request('recording.delete', { chatId });
  }

  async flagAbusive(chatId: string, reason: string): Promise<void> {
    await this.request('chat.flagAbusive', { chatId, reason });
  }

  async transfer(chatId: string, toAgentId: string): Promise<void> {
    await this.request('chat.transfer', { chatId, toAgentId });
    this.left(chatId);
  }

  async leave(chatId: string): Promise<void> {
    await this.request('chat.leave', { chatId });
    this.left(chatId);
  }

  async end(chatId: string): Promise<void> {
    await this.request('chat.end', { chatId });
    this.left(chatId);
  }

  protected reconnected(): void {
    for (const chatId of this.joined) void this.catchUp(chatId, true);
  }

  protected override serverEvent<E extends keyof ServerEventMap>(event: E, payload: ServerEventMap[E]): void {
    if (event === 'chat.ended') this.left((payload as ServerEventMap['chat.ended']).chatId);
  }

  protected override gapTimedOut(chatId: string): void {
    if (this.joined.has(chatId)) void this.catchUp(chatId, false);
    else super.gapTimedOut(chatId);
  }

  // Joins again (harmless) for the history; a chat that ended meanwhile is reported as ended.
  private async catchUp(chatId: string, rejoin: boolean): Promise<void> {
    try {
      const reply = await this.request('chat.join', { chatId });
      this.deliver(chatId, this.inbox(chatId).merge(reply.history));
      if (rejoin) this.fire('rejoined', { chatId, recordingState: reply.recordingState });
    } catch (err) {
      if (!this.joined.has(chatId)) return;
      if (err instanceof ClientError && err.code === 'conflict') {
        this.left(chatId);
        this.fire('chat.ended', { chatId });
      } else if (err instanceof ClientError && (err.code === 'forbidden' || err.code === 'not_found')) {
        this.left(chatId);
        this.fire('error', err);
      } else {
        super.gapTimedOut(chatId);
        this.fire('error', err instanceof ClientError ? err : new ClientError('unavailable', String(err)));
      }
    }
  }

  private left(chatId: string): void {
    this.joined.delete(chatId);
  }
}
