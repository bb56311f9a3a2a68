import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// Every metric of the service, on a registry of its own (never prom-client's global one): each
// app built in one process (tests build several) has its own, so nothing is registered twice.
// Label values come from fixed sets (event names the service handles, error codes, outcomes),
// never from client input, so the number of series stays bounded.
export class AppMetrics {
  readonly registry = new Registry();

  // Socket event received -> acknowledgement sent.
  readonly ackSeconds = new Histogram({
    name: 'webchat_socket_ack_seconds',
    help: 'Time from a socket event received to its acknowledgement sent, by namespace and event.',
    labelNames: ['namespace', 'event'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly socketEvents = new Counter({
    name: 'webchat_socket_events_total',
    help: 'Socket events answered, by namespace, event and outcome (ok or the error code).',
    labelNames: ['namespace', 'event', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly connections = new Counter({
    name: 'webchat_socket_connections_total',
    help: 'Socket connection attempts, by namespace and outcome (accepted or the refusal code).',
    labelNames: ['namespace', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly connectedSockets = new Gauge({
    name: 'webchat_connected_sockets',
    help: 'Sockets connected to this instance.',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });

  // Group commit: how many messages each database commit carried.
  readonly messagesPerCommit = new Histogram({
    name: 'webchat_messages_per_commit',
    help: 'Messages written by one group commit of the message store.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  readonly messages = new Counter({
    name: 'webchat_messages_total',
    help: 'Messages handed to the store, by outcome: stored, duplicate (a resend answered with the stored seq) or refused.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'webchat_deliveries_total',
    help: 'Delivery attempts on this instance, by result: delivered, already_present, retry or failed.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly endToDeliveredSeconds = new Histogram({
    name: 'webchat_chat_end_to_delivered_seconds',
    help: "Time from a chat's end to a recording's file recorded as delivered.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly sftpSeconds = new Histogram({
    name: 'webchat_sftp_operation_seconds',
    help: 'Time of one SFTP operation (connect, put, rename, exists, ...), by operation and outcome (ok, error, timeout).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly outboxJobs = new Gauge({
    name: 'webchat_outbox_jobs',
    help: 'Delivery jobs in the shared outbox by state (read from the database at each scrape).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  // The process metrics (CPU, memory, event loop lag, GC, handles), on this registry.
  collectProcessMetrics(): this {
    collectDefaultMetrics({ register: this.registry });
    return this;
  }
}
