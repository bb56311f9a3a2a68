import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DeliveryJobRepository } from './delivery-job.repository';

// Export's public face for the outbox: other features queue jobs inside their own transaction
// (so the jobs commit with what produced them) and read its depth.
@Injectable()
export class DeliveryOutbox {
  constructor(private readonly jobs: DeliveryJobRepository) {}

  enqueue(m: EntityManager, companyId: string, ids: string[], now: Date): Promise<void> {
    return this.jobs.enqueue(m, companyId, ids, now);
  }

  requeue(m: EntityManager, id: string, now: Date): Promise<void> {
    return this.jobs.requeue(m, id, now);
  }

  // For an erasure: withdraws the jobs no worker holds; see DeliveryJobRepository.cancel.
  cancel(m: EntityManager, ids: string[], now: Date): Promise<Map<string, string>> {
    return this.jobs.cancel(m, ids, now);
  }

  depth(): Promise<{ state: string; n: number }[]> {
    return this.jobs.countByState();
  }
}
