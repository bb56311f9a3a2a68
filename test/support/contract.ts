// The contract's client-to-server events (section 3), for tests that try every one of them: the
// service's own lists, so a test and the gateways cannot drift apart.
export { AGENT_EVENTS, CUSTOMER_EVENTS } from '../../src/socket/client-events';
export type { AgentEvent } from '../../src/socket/client-events';
