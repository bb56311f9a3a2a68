import { Injectable } from '@nestjs/common';

// Lets a chat end wake the local delivery worker at once instead of at its next poll.
@Injectable()
export class DeliverySignal {
  private listener: (() => void) | null = null;

  onWake(fn: () => void): void {
    this.listener = fn;
  }

  wake(): void {
    this.listener?.();
  }
}
