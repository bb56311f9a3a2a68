import { Injectable, Logger } from '@nestjs/common';

// The steps of a graceful stop (SIGTERM/SIGINT, src/main.ts), in this order:
// - intake: take no new work (new handshakes and events refused, no more delivery claims, sweeps stopped);
// - answer: finish the events and requests already read (per-socket queues, in-flight REST calls);
// - store: commit and acknowledge what the message store holds, then close it;
// - work: in-flight deliveries and erasures finish, or are handed back (leases released) at the step's end;
// - disconnect: close client connections server-side, so that socket.io clients reconnect elsewhere.
// Then the app closes (database, Redis) and the process exits. /health reports not-ready from the
// first moment of the intake step.
export const SHUTDOWN_STEPS = ['intake', 'answer', 'store', 'work', 'disconnect'] as const;
export type ShutdownStep = (typeof SHUTDOWN_STEPS)[number];

export interface ShutdownHook {
  step: ShutdownStep;
  name: string;
  // `until` (epoch ms): by then the hook must have returned; work still going on is handed back.
  run(until: number): Promise<unknown> | unknown;
}

// What a step did: how long it took and which hooks were still running at its end.
export interface StepReport {
  step: ShutdownStep;
  ms: number;
  late: string[];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Waits until `done()` or `until`, polling; true when done.
export async function waitUntil(done: () => boolean, until: number, everyMs = 20): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= until) return false;
    await sleep(Math.min(everyMs, Math.max(1, until - Date.now())));
  }
  return true;
}

// The features register their part of the stop here (they import this, never each other); the
// composition root runs it when a signal comes. Hooks of one step run side by side.
@Injectable()
export class GracefulShutdown {
  private readonly logger = new Logger('Shutdown');
  private readonly hooks: ShutdownHook[] = [];
  private started: Date | null = null;

  get draining(): boolean {
    return this.started !== null;
  }

  get startedAt(): Date | null {
    return this.started;
  }

  register(hook: ShutdownHook): void {
    this.hooks.push(hook);
  }

  // Runs every step. The steps up to `work` end by `workUntil`; `disconnect` by `disconnectUntil`.
  // Runs once: a second call answers at once with no steps.
  async drain(reason: string, workUntil: number, disconnectUntil: number): Promise<StepReport[]> {
    if (this.started) return [];
    this.started = new Date();
    this.logger.log({ msg: `graceful shutdown started (${reason})`, phase: 'start', reason, workMs: workUntil - Date.now() });
    const reports: StepReport[] = [];
    for (const step of SHUTDOWN_STEPS) {
      const until = step === 'disconnect' ? disconnectUntil : workUntil;
      const t0 = Date.now();
      const late = await this.runStep(step, until);
      const report = { step, ms: Date.now() - t0, late };
      reports.push(report);
      const msg = late.length > 0 ? `shutdown step ${step}: time up, left to crash recovery: ${late.join(', ')}` : `shutdown step ${step} done`;
      if (late.length > 0) this.logger.warn({ msg, phase: step, ms: report.ms, late });
      else this.logger.log({ msg, phase: step, ms: report.ms });
    }
    return reports;
  }

  private async runStep(step: ShutdownStep, until: number): Promise<string[]> {
    const hooks = this.hooks.filter((h) => h.step === step);
    const pending = new Set(hooks.map((h) => h.name));
    const runs = hooks.map(async (h) => {
      try {
        await h.run(until);
      } catch (err) {
        this.logger.warn({ msg: `shutdown step ${step}: ${h.name} failed: ${(err as Error).message}`, phase: step });
      }
      pending.delete(h.name);
    });
    // A hook keeps its own time; this is the net under one that does not (a little later, so a
    // hook that hands work back at `until` has the moment to do it).
    let timer: NodeJS.Timeout | undefined;
    const backstop = new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, until - Date.now()) + 500);
    });
    await Promise.race([Promise.all(runs), backstop]);
    clearTimeout(timer);
    return [...pending];
  }
}
