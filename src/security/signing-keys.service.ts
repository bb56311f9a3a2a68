import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { CryptoService } from './crypto.service';
import { ed25519FromSeed, SIGNING_SEED_BYTES, signEd25519, SigningKeyMaterial, signingKeyMaterial } from './signing-key-material';
import { SigningKeyEntity } from './signing-key.entity';

// The service key (service_keys) that holds the generated key's seed.
export const GENERATED_SIGNING_KEY_NAME = 'manifest-signing-ed25519';

export interface SigningKeyView {
  keyId: string;
  algorithm: 'Ed25519';
  publicKeyPem: string;
  createdAt: string;
}

// The key manifests are signed with: SIGNING_KEY, or else one generated at the first start and
// kept in service_keys (sealed with ENCRYPTION_MASTER_KEY when set), which every instance reads
// back, so all of them sign with the same key. Each key's public half is listed in signing_keys
// for good, so manifests signed before a rotation still verify.
@Injectable()
export class SigningKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SigningKeyService.name);
  private loading: Promise<SigningKeyMaterial> | null = null;
  // The generated key is stored without a seal (no ENCRYPTION_MASTER_KEY).
  private unsealed = false;

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly crypto: CryptoService,
  ) {}

  // The key is settled at start, so /v1/signing-keys lists it from the first request; if the
  // database is not there yet, the first signature tries again.
  async onApplicationBootstrap(): Promise<void> {
    try {
      const key = await this.current();
      this.logger.log(`manifests are signed with key ${key.keyId} (${this.config.signingKey ? 'SIGNING_KEY' : 'generated, kept in the database'})`);
      if (this.unsealed) {
        this.logger.warn(
          'the generated manifest signing key is stored unsealed (ENCRYPTION_MASTER_KEY is not set): read access to the database is enough to forge manifests; set SIGNING_KEY or ENCRYPTION_MASTER_KEY',
        );
      }
    } catch (err) {
      this.logger.error(`the manifest signing key is not available yet: ${(err as Error).message}`);
    }
  }

  current(): Promise<SigningKeyMaterial> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  // The current key's id and a function that signs with it (base64).
  async signer(): Promise<{ keyId: string; sign(data: Buffer): string }> {
    const key = await this.current();
    return { keyId: key.keyId, sign: (data) => signEd25519(key.privateKey, data) };
  }

  // Oldest first.
  async list(): Promise<SigningKeyView[]> {
    await this.current().catch(() => undefined);
    const rows = await this.db.getRepository(SigningKeyEntity).find({ order: { createdAt: 'ASC', keyId: 'ASC' } });
    return rows.map((r) => ({ keyId: r.keyId, algorithm: r.algorithm, publicKeyPem: r.publicKeyPem, createdAt: r.createdAt.toISOString() }));
  }

  private async load(): Promise<SigningKeyMaterial> {
    let privateKey = this.config.signingKey;
    if (!privateKey) {
      const generated = await this.crypto.serviceKey(GENERATED_SIGNING_KEY_NAME, SIGNING_SEED_BYTES);
      this.unsealed = !generated.sealed;
      privateKey = ed25519FromSeed(generated.key);
    }
    const key = signingKeyMaterial(privateKey);
    // Insert-or-ignore: instances starting together, or a key seen before, leave one row.
    await this.db
      .createQueryBuilder()
      .insert()
      .into(SigningKeyEntity)
      .values({ keyId: key.keyId, algorithm: 'Ed25519', publicKeyPem: key.publicKeyPem, createdAt: this.clock.now() })
      .orIgnore()
      .execute();
    return key;
  }
}
