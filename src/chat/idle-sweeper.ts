import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
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
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.idleSweepMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
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
