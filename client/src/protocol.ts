// The protocol types, imported from the service's own event maps (plain types, no runtime code is
// taken from there): the library and the server cannot disagree on a name or a payload.
export type { MessageView } from '../../src/chat/message-view.js';
export type { ChatAssignedPayload, RecordingStateValue, ServerEvent, ServerEventMap } from '../../src/socket/server-events.js';
export type {
  AckOf,
  AgentEvent,
  AgentEventMap,
  AgentMessagePayload,
  ChatRefPayload,
  CustomerEvent,
  CustomerEventMap,
  CustomerMessagePayload,
  EmptyReply,
  JoinReply,
  MessageReply,
  RecordingStateReply,
  SocketErrorCode,
} from '../../src/socket/client-events.js';
