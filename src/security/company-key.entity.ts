import { Column, Entity, PrimaryColumn } from 'typeorm';
import { timestampColumn } from '../database/columns';

// A company's data key for message bodies, sealed with the wrap key derived from
// ENCRYPTION_MASTER_KEY. Erasing empties `wrapped_key` and sets `erased_at`: the company's
// encrypted bodies can then never be opened again (crypto-shredding).
@Entity('company_keys')
export class CompanyKeyEntity {
  @PrimaryColumn({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ name: 'wrapped_key', type: 'text' })
  wrappedKey!: string;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;

  @Column(timestampColumn('erased_at', true))
  erasedAt!: Date | null;
}
