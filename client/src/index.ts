import { AgentClient } from './agent-client.js';
import { CustomerClient, type CustomerConnectOptions } from './customer-client.js';
import type { ConnectOptions } from './webchat-connection.js';

export { AgentClient } from './agent-client.js';
export { ClientError } from './client-error.js';
export { CustomerClient, type CustomerConnectOptions } from './customer-client.js';
export { OrderedInbox } from './ordered-inbox.js';
export type * from './protocol.js';
export type { SentMessage } from './send-queue.js';
export type { ClientEventMap, ConnectionState, ConnectOptions } from './webchat-connection.js';

// Connects the chat widget (customer token, namespace /customer) and resolves once connected.
export async function connectCustomer(options: CustomerConnectOptions): Promise<CustomerClient> {
  const client = new CustomerClient(options);
  await client.ready();
  return client;
}

// Connects the agent portal (agent or supervisor token, namespace /agent) and resolves once connected.
export async function connectAgent(options: ConnectOptions): Promise<AgentClient> {
  const client = new AgentClient(options);
  await client.ready();
  return client;
}

// One entry for both: the role picks the namespace.
export function connect(options: CustomerConnectOptions & { role: 'customer' }): Promise<CustomerClient>;
export function connect(options: ConnectOptions & { role: 'agent' | 'supervisor' }): Promise<AgentClient>;
export function connect(options: ConnectOptions & { role: 'customer' | 'agent' | 'supervisor' }): Promise<CustomerClient | AgentClient> {
  return options.role === 'customer' ? connectCustomer(options) : connectAgent(options);
}
