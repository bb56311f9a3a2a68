import { AGENT_EVENT_SCHEMAS, CUSTOMER_EVENT_SCHEMAS, ClientEventSchema, JsonSchema, SERVER_EVENT_SCHEMAS, SHARED_SCHEMAS } from './asyncapi-schemas';
import { AGENT_EVENTS, CUSTOMER_EVENTS } from './client-events';
import { SERVER_EVENTS, ServerEvent } from './server-events';

// The socket.io half of the interface as an AsyncAPI 3 document, built from the event lists the
// gateways are typed by (client-events.ts), the server event map (server-events.ts) and the
// payload schemas. From the service's point of view: it receives client events (each answered by
// an acknowledgement, the operation's reply) and sends server events. `npm run asyncapi` writes it
// to docs/asyncapi.json; the service serves it at GET /docs/asyncapi.json.
export function buildAsyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const namespaces = [
    {
      id: 'customer',
      address: '/customer',
      role: 'customer (+ chat)',
      events: CUSTOMER_EVENTS,
      schemas: CUSTOMER_EVENT_SCHEMAS as Record<string, ClientEventSchema>,
    },
    { id: 'agent', address: '/agent', role: 'agent or supervisor', events: AGENT_EVENTS, schemas: AGENT_EVENT_SCHEMAS as Record<string, ClientEventSchema> },
  ];
  for (const ns of namespaces) {
    const channelMessages: Record<string, unknown> = {};
    for (const event of ns.events) {
      const s = ns.schemas[event];
      const id = `${ns.id}.${event}`;
      messages[id] = { name: event, title: event, summary: s.summary, payload: s.payload };
      messages[`${id}.ack`] = { name: `${event} acknowledgement`, payload: s.reply };
      channelMessages[event] = { $ref: `#/components/messages/${id}` };
      channelMessages[`${event}.ack`] = { $ref: `#/components/messages/${id}.ack` };
      operations[`${ns.id}.${event}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${ns.id}` },
        summary: s.summary,
        messages: [{ $ref: `#/channels/${ns.id}/messages/${event}` }],
        reply: { channel: { $ref: `#/channels/${ns.id}` }, messages: [{ $ref: `#/channels/${ns.id}/messages/${event}.ack` }] },
      };
    }
    for (const event of Object.keys(SERVER_EVENTS) as ServerEvent[]) {
      if (!SERVER_EVENTS[event].includes(ns.address as '/customer' | '/agent')) continue;
      const id = `server.${event}`;
      const s = SERVER_EVENT_SCHEMAS[event];
      messages[id] = { name: event, title: event, summary: s.summary, payload: s.payload };
      channelMessages[`server.${event}`] = { $ref: `#/components/messages/${id}` };
      operations[`${ns.id}.server.${event}`] = {
        action: 'send',
        channel: { $ref: `#/channels/${ns.id}` },
        summary: s.summary,
        messages: [{ $ref: `#/channels/${ns.id}/messages/server.${event}` }],
      };
    }
    channels[ns.id] = {
      address: ns.address,
      title: `socket.io namespace ${ns.address}`,
      description: `Role ${ns.role}; the JWT travels in the handshake's auth.token. Every client event takes an acknowledgement callback.`,
      messages: channelMessages,
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Webchat recording service: socket.io events',
      version: '1',
      description:
        'socket.io v4 namespaces of the webchat recording service (contract section 3). Acknowledgements answer {ok: true, ...} or {ok: false, error: {code, message}}. The client library in client/ implements the resend rule.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:3000',
        pathname: '/socket.io',
        protocol: 'ws',
        description: 'socket.io (Engine.IO 4): HTTP long-polling, then an upgrade to WebSocket',
        security: [{ $ref: '#/components/securitySchemes/jwt' }],
      },
    },
    channels,
    operations,
    components: {
      schemas: SHARED_SCHEMAS as Record<string, JsonSchema>,
      messages,
      securitySchemes: { jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Sent as auth.token in the socket.io handshake' } },
    },
  };
}
