import { EntityManager } from 'typeorm';
import { marks } from '../database/sql';
import { ChatEntity } from './chat.entity';
import { CHAIN_ORIGIN, nextLink } from './message-chain';
import { CHAIN_PAGE_SIZE } from './message-chain-verifier';
import { MessageEntity, SenderRole } from './message.entity';

export type RelinkOutcome = { relinked: true; rows: number } | { relinked: false; seq: number; problem: string };

// An erasure (contract section 10) replaces the customer's id on the chat's messages, which is
// part of every link (contract section 9). So that the chat's chain still verifies afterwards (a
// recording of what is said after the erasure is checked like any other), the erasure links the
// chat again over the erased ids, in the same transaction, with the chat row locked (no message
// is written meanwhile). It first checks the chain as it is: a chain already broken is left
// broken (relinking would hide the change), and the caller goes on with the purge regardless.
// `senderIdAfter` gives each row's sender id as the purge will leave it.
export async function relinkChat(
  m: EntityManager,
  chatId: string,
  senderIdAfter: (row: { senderRole: SenderRole; senderId: string }) => string,
): Promise<RelinkOutcome> {
  const chat = await m.getRepository(ChatEntity).findOne({ where: { id: chatId }, select: { id: true, nextSeq: true, chainHead: true } });
  if (!chat) return { relinked: false, seq: 0, problem: 'the chat row is missing' };
  const last = chat.nextSeq - 1;
  let oldLink: Buffer | null = null;
  let newLink: Buffer | null = null;
  let seq = 0;
  const changes: { seq: number; chain: string }[] = [];
  for (let page = 0; page <= last / CHAIN_PAGE_SIZE + 1; page++) {
    const rows = await m
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .select(['m.chatId', 'm.seq', 'm.at', 'm.senderRole', 'm.senderId', 'm.bodySha256', 'm.chain'])
      .where('m.chat_id = :chatId AND m.seq > :after AND m.seq <= :last', { chatId, after: seq, last })
      .orderBy('m.seq', 'ASC')
      .take(CHAIN_PAGE_SIZE)
      .getMany();
    for (const r of rows) {
      if (r.seq !== seq + 1) return { relinked: false, seq: seq + 1, problem: 'the row is missing' };
      seq = r.seq;
      if (r.chain === null) {
        // Rows written before the chain may only come first; they stay unlinked.
        if (oldLink !== null) return { relinked: false, seq, problem: 'the row has no link' };
        continue;
      }
      const fields = { seq, at: r.at, senderRole: r.senderRole, bodySha256: r.bodySha256 };
      const expected = nextLink(oldLink ?? CHAIN_ORIGIN, { ...fields, senderId: r.senderId });
      if (expected.toString('hex') !== r.chain) return { relinked: false, seq, problem: 'the link does not match (the row or one before it changed)' };
      oldLink = expected;
      newLink = nextLink(newLink ?? CHAIN_ORIGIN, { ...fields, senderId: senderIdAfter(r) });
      const chain = newLink.toString('hex');
      if (chain !== r.chain) changes.push({ seq, chain });
    }
    if (rows.length < CHAIN_PAGE_SIZE) break;
  }
  if (seq !== last) return { relinked: false, seq: seq + 1, problem: 'the row is missing' };
  if ((oldLink?.toString('hex') ?? null) !== chat.chainHead) return { relinked: false, seq, problem: "the last link is not the chat's recorded head" };
  for (let i = 0; i < changes.length; i += CHAIN_PAGE_SIZE) {
    const batch = changes.slice(i, i + CHAIN_PAGE_SIZE);
    const cases = batch.map(() => 'WHEN ? THEN ?').join(' ');
    const params: (string | number)[] = batch.flatMap((c) => [c.seq, c.chain]);
    await m.query(`UPDATE messages SET chain = CASE seq ${cases} END WHERE chat_id = ? AND seq IN (${marks(batch.length)})`, [
      ...params,
      chatId,
      ...batch.map((c) => c.seq),
    ]);
  }
  const head = newLink?.toString('hex') ?? null;
  if (head !== chat.chainHead) await m.getRepository(ChatEntity).update({ id: chatId }, { chainHead: head });
  return { relinked: true, rows: changes.length };
}
