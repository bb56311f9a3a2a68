import { Controller, Get, Header } from '@nestjs/common';
import { MessageStore } from '../chat/message-store';
import { SocketNotifier } from '../socket/socket-notifier';
import { DeliveryOutbox } from '../export/delivery-outbox';
import { DeliveryWorker } from '../export/delivery.worker';

// Prometheus text format: counters of this instance and the shared outbox depth.
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly outbox: DeliveryOutbox,
    private readonly messages: MessageStore,
    private readonly worker: DeliveryWorker,
    private readonly notifier: SocketNotifier,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4')
  async metrics(): Promise<string> {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
    };
    metric('webchat_messages_stored_total', 'counter', 'Messages acknowledged after commit by this instance.', [['', this.messages.stats.messages]]);
    metric('webchat_message_commits_total', 'counter', 'Database commits that stored messages (group commit).', [['', this.messages.stats.batches]]);
    metric('webchat_deliveries_total', 'counter', 'Delivery outcomes on this instance.', [
      ['{result="delivered"}', this.worker.stats.delivered],
      ['{result="retry"}', this.worker.stats.retried],
      ['{result="failed"}', this.worker.stats.failed],
    ]);
    metric('webchat_connected_sockets', 'gauge', 'Sockets connected to this instance.', [
      ['{namespace="/customer"}', this.notifier.customers?.sockets.size ?? 0],
      ['{namespace="/agent"}', this.notifier.agents?.sockets.size ?? 0],
    ]);
    try {
      const rows = await this.outbox.depth();
      metric(
        'webchat_outbox_jobs',
        'gauge',
        'Delivery jobs in the shared outbox by state.',
        ['queued', 'failed', 'done'].map((st) => [`{state="${st}"}`, Number(rows.find((r) => r.state === st)?.n ?? 0)]),
      );
    } catch {
      lines.push('# outbox depth unavailable: the database did not answer');
    }
    return lines.join('\n') + '\n';
  }
}
