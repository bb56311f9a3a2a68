import { createHash, createPrivateKey, createPublicKey, KeyObject, sign } from 'node:crypto';

// Plain functions on Ed25519 keys; the CLI verifier uses the same keyId derivation.

// PKCS#8 DER of an Ed25519 private key is this prefix followed by its 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export const SIGNING_SEED_BYTES = 32;

export interface SigningKeyMaterial {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== SIGNING_SEED_BYTES) throw new Error(`an Ed25519 seed is ${SIGNING_SEED_BYTES} bytes, not ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

// The first 16 hex characters of the SHA-256 of the public key's SPKI DER: another key, another id.
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}

export function signingKeyMaterial(privateKey: KeyObject): SigningKeyMaterial {
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

// Ed25519 signs the message itself (no pre-hash): the algorithm argument is null.
export function signEd25519(privateKey: KeyObject, data: Buffer): string {
  return sign(null, data, privateKey).toString('base64');
}
