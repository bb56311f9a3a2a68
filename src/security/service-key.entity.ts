import { Column, Entity, PrimaryColumn } from 'typeorm';
import { timestampColumn } from '../database/columns';

// A key the service generated itself and shares between instances (first writer wins). `value`
// is sealed ("enc:v1:...") with a key derived from ENCRYPTION_MASTER_KEY, or "plain:" + base64
// when no master key is configured (development only; see docs/security.md).
@Entity('service_keys')
export class ServiceKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;
}
