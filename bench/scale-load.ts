import { RelayPair, runRelayLoad } from './relay-load';

// One load process of the scale bench (forked by scale.ts): connects its share of the chats, says
// "ready", starts sending on "go", and sends back its figures with every ack's latency.
interface Job {
  urls: { customer: string; agent: string };
  pairs: RelayPair[];
  seconds: number;
  warmupSeconds: number;
  join: boolean;
}

process.once('message', (job: Job) => {
  const go = new Promise<void>((res) => process.once('message', () => res()));
  runRelayLoad(job.urls, job.pairs, {
    seconds: job.seconds,
    warmupSeconds: job.warmupSeconds,
    join: job.join,
    keepLatencies: true,
    ready: async () => {
      process.send?.({ ready: true });
      await go;
    },
  })
    .then((result) => process.send?.({ result }, () => process.exit(0)))
    .catch((err: Error) => {
      process.send?.({ error: err.message }, () => process.exit(1));
    });
});
