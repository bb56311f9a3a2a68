// A message as clients see it (relayed, and in a join's history).
export interface MessageView {
  chatId: string;
  seq: number;
  from: { role: string; name: string | null };
  text: string;
  at: string;
}
