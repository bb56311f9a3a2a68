import { Column, Entity, PrimaryColumn } from 'typeorm';
import { timestampColumn } from '../database/columns';

// Every public key manifests were ever signed with, so that a manifest signed before a key
// rotation still verifies. `key_id` is derived from the public key (signing-keys.ts).
@Entity('signing_keys')
export class SigningKeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'varchar', length: 32 })
  keyId!: string;

  @Column({ type: 'varchar', length: 16 })
  algorithm!: 'Ed25519';

  @Column({ name: 'public_key_pem', type: 'text' })
  publicKeyPem!: string;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;
}
