import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CryptoService } from '../security/crypto.service';
import type { ChainVerdict, ChatSpan } from '../recording/chat-facts.port';
import { ChatEntity } from './chat.entity';
import { bodyDigest, CHAIN_ORIGIN, nextLink } from './message-chain';
import { MessageEntity } from './message.entity';

// Rows per page: a body is at most 10,000 characters (40 KB in UTF-8), so a page stays within a
// few MB however long the chat is.
export const CHAIN_PAGE_SIZE = 200;

// Checks a chat's chain (docs/integrity.md, "Chained messages") the way a third party would:
// every row from seq 1 to the chat's last, in order, each body (opened if sealed) against its
// digest, each link against SHA-256(previous link || canonical form), and the last link against
// the chat row's head. Rows written before the chain existed (chain NULL) may only come first.
@Injectable()
export class MessageChainVerifier {
  constructor(
    private readonly db: DataSource,
    // Absent where built by hand (the storage test): bodies are compared as stored.
    @Optional() @Inject(CryptoService) private readonly crypto: CryptoService | null = null,
  ) {}

  async verify(chatId: string, companyId: string, spans: ChatSpan[]): Promise<ChainVerdict> {
    // The chat row's seq and head are read together: the rows below its next_seq are committed
    // with it, rows written later (an open chat) are left for a later check.
    const chat = await this.db.getRepository(ChatEntity).findOne({ where: { id: chatId }, select: { id: true, status: true, nextSeq: true, chainHead: true } });
    if (!chat) return { intact: false, seq: 0, problem: 'the chat row is missing' };
    const last = chat.nextSeq - 1;
    const captured = (seq: number) => spans.some((g) => seq >= g.startSeq && seq < g.endSeq);
    let link: Buffer | null = null;
    let head: string | null = null;
    let seq = 0;
    let checked = 0;
    let more = true;
    for (let guard = 0; more && guard <= last / CHAIN_PAGE_SIZE + 1; guard++) {
      const rows = await this.page(chatId, seq);
      more = rows.length === CHAIN_PAGE_SIZE;
      for (const r of rows) {
        if (r.seq > last) {
          // An open chat goes on; after its end nothing may follow its last message.
          if (chat.status !== 'open') return { intact: false, seq: r.seq, problem: `a row after the chat's last message (seq ${last})` };
          more = false;
          break;
        }
        if (r.seq !== seq + 1) return { intact: false, seq: seq + 1, problem: 'the row is missing' };
        seq = r.seq;
        if (r.chain === null) {
          if (link !== null) return { intact: false, seq, problem: 'the row has no link' };
          if (captured(seq) && !r.paused) head = null;
          continue;
        }
        if (r.text !== null) {
          // Opened as the renderer opens it: a sealed body moved from another row does not open.
          const body = this.crypto ? await this.crypto.openBodyInPlace(companyId, { ...r, text: r.text }) : r.text;
          if (body === null) return { intact: false, seq, problem: 'the sealed body does not open at this place' };
          if (bodyDigest(body) !== r.bodySha256) {
            return { intact: false, seq, problem: r.bodySha256 === null ? 'a body is stored where none was' : 'the body does not match its digest' };
          }
        }
        const expected = nextLink(link ?? CHAIN_ORIGIN, { seq, at: r.at, senderRole: r.senderRole, senderId: r.senderId, bodySha256: r.bodySha256 });
        if (expected.toString('hex') !== r.chain) return { intact: false, seq, problem: 'the link does not match (the row or one before it changed)' };
        link = expected;
        checked++;
        if (captured(seq) && !r.paused) head = r.chain;
      }
    }
    if (seq !== last) return { intact: false, seq: seq + 1, problem: 'the row is missing' };
    const end = link?.toString('hex') ?? null;
    if (end !== chat.chainHead) return { intact: false, seq, problem: "the last link is not the chat's recorded head" };
    return { intact: true, head, checked };
  }

  private page(chatId: string, after: number): Promise<MessageEntity[]> {
    return this.db
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .where('m.chat_id = :chatId AND m.seq > :after', { chatId, after })
      .orderBy('m.seq', 'ASC')
      .take(CHAIN_PAGE_SIZE)
      .getMany();
  }
}
