import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { TokenService } from '../auth/token.service';
import { Clock } from '../common/clock';
import { newId } from '../common/ids';
import { redactCardData } from '../common/redact-card-data';
import { CompanyService } from '../company/company.service';
import { isDuplicateKey } from '../database/sql';
import { ChatJournal } from './chat-journal';
import { ChatEntity } from './chat.entity';

export interface CreateChatInput {
  externalId?: string;
  service: string;
  customer?: { id?: string; name?: string };
  metadata?: Record<string, unknown>;
}

// A chat's start (contract section 2, step 1): one chat per externalId, and the customer's token.
@Injectable()
export class ChatCreationService {
  private readonly logger = new Logger(ChatCreationService.name);

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly companies: CompanyService,
    private readonly tokens: TokenService,
    private readonly journal: ChatJournal,
  ) {}

  async create(p: Principal, raw: CreateChatInput): Promise<{ chatId: string; customerToken: string; created: boolean }> {
    const company = await this.companies.get(p.company);
    // Free text from outside is scrubbed of card data before its first write, like messages.
    const scrub = (t: string) => (company.redactCardData ? redactCardData(t) : t);
    // null in an optional field means "not given".
    const input: CreateChatInput = {
      service: raw.service,
      externalId: raw.externalId ?? undefined,
      customer: raw.customer ? { id: raw.customer.id ?? undefined, name: raw.customer.name == null ? undefined : scrub(raw.customer.name) } : undefined,
      metadata: raw.metadata ? (scrubDeep(raw.metadata, scrub) as Record<string, unknown>) : undefined,
    };
    const repo = this.db.getRepository(ChatEntity);
    if (input.externalId !== undefined) {
      const found = await repo.findOneBy({ companyId: p.company, externalId: input.externalId });
      if (found) return { chatId: found.id, customerToken: this.customerToken(found), created: false };
    }
    const now = this.clock.now();
    const chat = Object.assign(new ChatEntity(), {
      id: newId(),
      companyId: p.company,
      externalId: input.externalId ?? null,
      service: input.service,
      customerId: input.customer?.id ?? null,
      customerName: input.customer?.name ?? null,
      metadata: input.metadata ? JSON.stringify(input.metadata) : null,
      status: 'open' as const,
      assignedAgentId: null,
      nextSeq: 1,
      paused: false,
      recordingOff: false,
      consent: null,
      discarded: false,
      abusive: false,
      deletionRequested: false,
      deletionConfirmed: false,
      startedAt: now,
      endedAt: null,
      endReason: null,
      lastActivityAt: now,
      purgedAt: null,
    });
    try {
      await this.db.transaction(async (m) => {
        // The switch is read under a shared lock in this transaction: an admin's switch either
        // committed before (and is seen here) or waits and then finds this chat among the open ones.
        chat.recordingOff = !(await this.companies.recordingSwitchForNewChat(m, p.company));
        await m.getRepository(ChatEntity).insert(chat);
        await this.journal.note(
          m,
          chat,
          { role: p.role, id: p.sub },
          { action: 'chat.created', detail: { externalId: chat.externalId, service: chat.service } },
        );
      });
    } catch (err) {
      // Two creations with one externalId raced: the loser returns the winner's chat.
      if (input.externalId !== undefined && isDuplicateKey(err)) {
        const found = await repo.findOneByOrFail({ companyId: p.company, externalId: input.externalId });
        return { chatId: found.id, customerToken: this.customerToken(found), created: false };
      }
      throw err;
    }
    this.logger.log({ msg: 'chat created', chatId: chat.id, companyId: chat.companyId, service: chat.service });
    return { chatId: chat.id, customerToken: this.customerToken(chat), created: true };
  }

  private customerToken(chat: ChatEntity): string {
    return this.tokens.signCustomerToken(chat.companyId, chat.id, chat.customerId ?? `customer:${chat.id}`, chat.customerName);
  }
}

// Masks every string (and number, which a card number could be sent as) inside a JSON value.
function scrubDeep(v: unknown, scrub: (t: string) => string): unknown {
  if (typeof v === 'string') return scrub(v);
  if (typeof v === 'number' && Number.isInteger(v)) {
    const masked = scrub(String(v));
    return masked === String(v) ? v : masked;
  }
  if (Array.isArray(v)) return v.map((x) => scrubDeep(x, scrub));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubDeep(x, scrub)]));
  return v;
}
