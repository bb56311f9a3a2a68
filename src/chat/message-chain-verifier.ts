import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { boolOf, dateOf, marks } from '../database/sql';
import { CryptoService } from '../security/crypto.service';
import type { ChainReadAhead, ChainVerdict, ChatSpan, MessageRecord } from '../recording/chat-facts.port';
import { bodyDigest, CHAIN_ORIGIN, nextLink } from './message-chain';
import { SenderRole } from './message.entity';

// Rows per page: a body is at most 10,000 characters (40 KB in UTF-8), so a page stays within a
// few MB however long the chat is.
export const CHAIN_PAGE_SIZE = 200;

// The chat row's part the check starts from, read in one statement.
export interface ChainStart {
  id: string;
  status: string;
  nextSeq: number;
  chainHead: string | null;
}

// A chat's first page, read with other chats' (readAhead): exactly what page(chatId, 0) returns
// for a chat of at most CHAIN_PAGE_SIZE rows.
interface FirstPage extends ChainReadAhead {
  rows: MessageRow[];
}

// A stored body in the recording's spans as the walk met it: opened, or (a row from before the
// chain) not opened yet.
interface KeptRow {
  record: MessageRecord;
  opened: boolean;
}

interface MessageRow {
  seq: number;
  at: Date;
  senderRole: SenderRole;
  senderId: string;
  senderName: string | null;
  text: string | null;
  paused: boolean;
  bodySha256: string | null;
  chain: string | null;
}

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
    const chats = (await this.db.query('SELECT id, status, next_seq, chain_head FROM chats WHERE id = ?', [chatId])) as {
      id: string;
      status: string;
      next_seq: number | string;
      chain_head: string | null;
    }[];
    if (chats.length === 0) return { intact: false, seq: 0, problem: 'the chat row is missing' };
    const c = chats[0];
    return this.verifyFrom({ id: c.id, status: c.status, nextSeq: Number(c.next_seq), chainHead: c.chain_head }, companyId, spans);
  }

  // The check from a chat row already read (with its seq and head). With keepChars > 0 the bodies
  // stored in the spans, opened as messagePage opens them, come back with an intact verdict, so
  // that a small recording reads its messages once; past keepChars characters they are dropped
  // (the caller pages them as for a large one).
  // `ahead`: the chat's first page, read (after the chat row) by readAhead.
  async verifyFrom(chat: ChainStart, companyId: string, spans: ChatSpan[], keepChars = 0, ahead?: ChainReadAhead): Promise<ChainVerdict> {
    let kept: MessageRecord[] | null = keepChars > 0 ? [] : null;
    let keptChars = 0;
    // Bodies of rows from before the chain, which the walk does not open: opened at the end.
    const unopened: KeptRow[] = [];
    const walk = this.walk(chat, companyId, spans, ahead);
    let step = await walk.next();
    for (; !step.done; step = await walk.next()) {
      const into = kept;
      if (into === null) continue;
      for (const k of step.value) {
        keptChars += k.record.text.length;
        if (keptChars > keepChars) {
          kept = null;
          break;
        }
        if (!k.opened) unopened.push(k);
        into.push(k.record);
      }
    }
    const verdict = step.value;
    const messages: MessageRecord[] | null = kept;
    if (!verdict.intact || messages === null) return verdict;
    await this.openKept(chat.id, companyId, unopened);
    return { ...verdict, messages };
  }

  // The same check, giving the bodies stored in the spans (opened as messagePage opens them) page
  // by page as it goes, and the verdict at the end: one read of the chat serves both the check and
  // a large recording's render (into its private spool; nothing is delivered before the verdict).
  async *checkedMessages(chat: ChainStart, companyId: string, spans: ChatSpan[], ahead?: ChainReadAhead): AsyncGenerator<MessageRecord[], ChainVerdict> {
    const walk = this.walk(chat, companyId, spans, ahead);
    let step = await walk.next();
    for (; !step.done; step = await walk.next()) {
      const page = step.value;
      await this.openKept(
        chat.id,
        companyId,
        page.filter((k) => !k.opened),
      );
      if (page.length > 0) yield page.map((k) => k.record);
    }
    return step.value;
  }

  // Opens, in place, bodies the walk kept without opening (rows from before the chain), as
  // messagePage opens them: an unopenable body fails the read, not the chain.
  private async openKept(chatId: string, companyId: string, unopened: KeptRow[]): Promise<void> {
    if (unopened.length === 0 || !this.crypto) return;
    const rows = unopened.map((k) => ({ chatId, seq: k.record.seq, text: k.record.text as string | null }));
    (await this.crypto.openBodies(companyId, rows)).forEach((u, i) => (unopened[i].record.text = u.text as string));
  }

  // The walk of docs/integrity.md: every row from seq 1 to the chat's last, page by page; yields,
  // per page, the stored bodies in the spans (those of rows from before the chain not opened yet),
  // and returns the verdict (without bodies).
  private async *walk(chat: ChainStart, companyId: string, spans: ChatSpan[], ahead?: ChainReadAhead): AsyncGenerator<KeptRow[], ChainVerdict> {
    const chatId = chat.id;
    let first = ahead && ahead.chatId === chatId && 'rows' in ahead ? (ahead as FirstPage).rows : null;
    const last = chat.nextSeq - 1;
    const captured = (seq: number) => spans.some((g) => seq >= g.startSeq && seq < g.endSeq);
    const record = (r: MessageRow, text: string): MessageRecord => ({
      seq: r.seq,
      at: r.at,
      senderRole: r.senderRole,
      senderId: r.senderId,
      senderName: r.senderName,
      text,
    });
    let link: Buffer | null = null;
    let head: string | null = null;
    let seq = 0;
    let checked = 0;
    let more = true;
    // A long chain's next page is read while this one is checked (the database works on it
    // meanwhile); it is the read the next turn would make, since every row of this page must follow
    // the one before it for the walk to go on.
    let next: Promise<MessageRow[]> | null = null;
    for (let guard = 0; more && guard <= last / CHAIN_PAGE_SIZE + 1; guard++) {
      const rows: MessageRow[] = seq === 0 && first ? first : await (next ?? this.page(chatId, seq));
      first = null;
      more = rows.length === CHAIN_PAGE_SIZE;
      next = more && rows[rows.length - 1].seq <= last ? this.page(chatId, rows[rows.length - 1].seq) : null;
      // A walk that stops early leaves it unread.
      next?.catch(() => undefined);
      const kept: KeptRow[] = [];
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
          if (r.text !== null && captured(seq)) kept.push({ record: record(r, r.text), opened: false });
          continue;
        }
        let body: string | null = null;
        if (r.text !== null) {
          // Opened as the renderer opens it: a sealed body moved from another row does not open.
          body = this.crypto ? await this.crypto.openBodyInPlace(companyId, { chatId, seq, text: r.text }) : r.text;
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
        if (body !== null && captured(seq)) kept.push({ record: record(r, body), opened: true });
      }
      yield kept;
    }
    if (seq !== last) return { intact: false, seq: seq + 1, problem: 'the row is missing' };
    const end = link?.toString('hex') ?? null;
    if (end !== chat.chainHead) return { intact: false, seq, problem: "the last link is not the chat's recorded head" };
    return { intact: true, head, checked };
  }

  // The first page of each chat whose rows (below its next_seq as read) fit one page with room to
  // spare (so that one read completes its check), for several chats in one statement, up to
  // `rowBudget` rows in all. Read after the chats' rows, as verify reads them.
  async readAhead(chats: ChainStart[], rowBudget: number): Promise<Map<string, ChainReadAhead>> {
    const out = new Map<string, ChainReadAhead>();
    const picked: string[] = [];
    let rows = 0;
    for (const c of chats) {
      const n = c.nextSeq - 1;
      if (n < 1 || n >= CHAIN_PAGE_SIZE || rows + n > rowBudget) continue;
      rows += n;
      picked.push(c.id);
      const page: FirstPage = { chatId: c.id, rows: [] };
      out.set(c.id, page);
    }
    if (picked.length === 0) return out;
    // Per chat, exactly its page from seq 0: its first CHAIN_PAGE_SIZE rows, however far they
    // reach (a row far past the chat's last is as visible as in verifyFrom's own read).
    const read = (await this.db.query(
      `SELECT chat_id, ${COLUMNS} FROM (SELECT chat_id, ${COLUMNS}, ROW_NUMBER() OVER (PARTITION BY chat_id ORDER BY seq ASC) AS n FROM messages WHERE chat_id IN (${marks(picked.length)}) AND seq > 0) t WHERE n <= ${CHAIN_PAGE_SIZE} ORDER BY chat_id ASC, seq ASC`,
      picked,
    )) as (RawRow & { chat_id: string })[];
    for (const r of read) (out.get(r.chat_id) as FirstPage | undefined)?.rows.push(rowOf(r));
    return out;
  }

  // Raw SQL: every row of the chat is read for each delivered recording.
  private async page(chatId: string, after: number): Promise<MessageRow[]> {
    const rows = (await this.db.query(`SELECT ${COLUMNS} FROM messages WHERE chat_id = ? AND seq > ? ORDER BY seq ASC LIMIT ${CHAIN_PAGE_SIZE}`, [
      chatId,
      after,
    ])) as RawRow[];
    return rows.map(rowOf);
  }
}

const COLUMNS = 'seq, at, sender_role, sender_id, sender_name, text, paused, body_sha256, chain';

interface RawRow {
  seq: number | string;
  at: Date | string;
  sender_role: SenderRole;
  sender_id: string;
  sender_name: string | null;
  text: string | null;
  paused: number | string | boolean;
  body_sha256: string | null;
  chain: string | null;
}

function rowOf(r: RawRow): MessageRow {
  return {
    seq: Number(r.seq),
    at: dateOf(r.at),
    senderRole: r.sender_role,
    senderId: r.sender_id,
    senderName: r.sender_name,
    text: r.text,
    paused: boolOf(r.paused),
    bodySha256: r.body_sha256,
    chain: r.chain,
  };
}
