import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';
import { AppConfig } from '../config/app-config';
import { ChatLifecycleService } from './chat-lifecycle.service';

// Ends chats whose clients never came back, by each company's idle timeout.
@Injectable()
export class IdleSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IdleSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly chats: ChatLifecycleService,
    private readonly config: AppConfig,
    shutdown: GracefulShutdown,
  ) {
    // At a stop: no new sweep (another instance ends the idle chats); one under way finishes.
    shutdown.register({ step: 'intake', name: 'idle sweeps', run: () => this.onModuleDestroy() });
    shutdown.register({ step: 'work', name: 'idle sweep in progress', run: (until) => waitUntil(() => !this.running, until) });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.idleSweepMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const n = await this.chats.endIdleChats();
      if (n > 0) this.logger.log(`ended ${n} idle chat(s)`);
    } catch (err) {
      this.logger.warn(`idle sweep failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
