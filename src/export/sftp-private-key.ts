import { utils } from 'ssh2';

// Why a private key given for an SFTP target cannot be used, or null when it can: read by ssh2's
// own parser, the one every connection uses, so that a key the connection would refuse (not a key,
// a format ssh2 does not read, a public key, one encrypted with a passphrase, which targets cannot
// carry) is refused when it is saved, naming the cause, not found at the first delivery.
export function privateKeyProblem(key: string): string | null {
  let parsed: ReturnType<typeof utils.parseKey>;
  try {
    parsed = utils.parseKey(key);
  } catch (err) {
    return (err as Error).message;
  }
  if (parsed instanceof Error) return parsed.message;
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!first) return 'no key found';
  if (!first.isPrivateKey()) return 'a public key, not a private one';
  return null;
}
