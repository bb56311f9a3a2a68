import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AppException } from '../common/app.exception';
import { Clock } from '../common/clock';
import { AfterCommit } from '../common/events/typed-event-bus';
import { isMysql } from '../database/sql';
import { readTogether } from '../database/write-behind';
import { ChatEventBus, ChatEvents } from './chat-events';
import { latestMarkersAt } from './chat-journal';
import { ChatEntity } from './chat.entity';
import { ParticipantEntity } from './participant.entity';

// A state change's time: the clock's, but always later than the chat's latest marker. A file takes
// the markers that lie between an agent's join and leave by their times, at millisecond precision:
// two state changes of one chat in the same millisecond (a consent answered, then an agent joining)
// would otherwise be indistinguishable, and the earlier one could be put in the later one's span.
export function timeAfter(now: Date, latest: Date | undefined): Date {
  return latest !== undefined && now.getTime() <= latest.getTime() ? new Date(latest.getTime() + 1) : now;
}

// One state change of one chat: its transaction, the chat row locked in it, the time, and the
// events to fire once it committed.
export interface ChatTx {
  m: EntityManager;
  chat: ChatEntity;
  now: Date;
  events: AfterCommit<ChatEvents>;
}

// Every state change of a chat runs here: one transaction that locks the chat row (another
// company's chat is as missing as a missing one), and the change's events only after the commit.
@Injectable()
export class ChatTransactions {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly bus: ChatEventBus,
  ) {}

  async run<T>(companyId: string, chatId: string, fn: (tx: ChatTx) => Promise<T>): Promise<T> {
    const events = new AfterCommit<ChatEvents>(this.bus);
    const result = await this.db.transaction(async (m) => {
      // The lock first, then (in the same query on MySQL/MariaDB) the latest marker, read under it.
      const [chat, latest] = await readTogether(m, () => Promise.all([lockedChat(m, chatId), latestMarkersAt(m, [chatId])]));
      if (!chat || chat.companyId !== companyId) throw AppException.notFound('chat not found');
      return fn({ m, chat, now: timeAfter(this.clock.now(), latest.get(chatId)), events });
    });
    events.flush();
    return result;
  }
}

// The chat row, locked (on MySQL/MariaDB; SQLite serialises writers), read with raw SQL and
// hydrated by TypeORM's own conversion of each column: every state change of a chat starts here,
// and the query builder's SQL generation and result transformation cost more CPU than the rest of
// the read.
export async function lockedChat(m: EntityManager, chatId: string): Promise<ChatEntity | null> {
  const rows = (await m.query(`SELECT * FROM chats WHERE id = ?${isMysql(m) ? ' FOR UPDATE' : ''}`, [chatId])) as Record<string, unknown>[];
  if (rows.length === 0) return null;
  const driver = m.connection.driver;
  const chat = new ChatEntity();
  for (const column of m.connection.getMetadata(ChatEntity).columns) {
    const value = rows[0][column.databaseName];
    if (value !== undefined) (chat as unknown as Record<string, unknown>)[column.propertyName] = driver.prepareHydratedValue(value, column);
  }
  return chat;
}

export function requireOpen(chat: ChatEntity): void {
  if (chat.status !== 'open') throw AppException.conflict('chat has ended');
}

export async function requireJoined(m: EntityManager, chatId: string, agentId: string): Promise<void> {
  const part = await m.getRepository(ParticipantEntity).findOneBy({ chatId, agentId, leftAt: IsNull() });
  if (!part) throw AppException.forbidden('join the chat first');
}
