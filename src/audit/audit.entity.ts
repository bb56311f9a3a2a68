import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { idColumn, timestampColumn } from '../database/columns';

@Entity('audit_log')
@Index('ix_audit_company_at', ['companyId', 'at'])
@Index('ix_audit_company_chat', ['companyId', 'chatId'])
export class AuditEntity {
  @PrimaryColumn(idColumn('id'))
  id!: string;

  @Column({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @Column({ name: 'chat_id', type: 'varchar', length: 36, nullable: true })
  chatId!: string | null;

  @Column(timestampColumn('at'))
  at!: Date;

  @Column({ name: 'actor_role', type: 'varchar', length: 16 })
  actorRole!: string;

  @Column({ name: 'actor_id', type: 'varchar', length: 255, nullable: true })
  actorId!: string | null;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ type: 'text', nullable: true })
  detail!: string | null;
}
