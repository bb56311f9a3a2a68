import { Column, Entity, PrimaryColumn } from 'typeorm';
import { boolColumn, timestampColumn } from '../database/columns';

// Per-agent recording settings (contract section 4/6). A row appears when an agent is first seen or
// when the admin configures it; absent settings mean the defaults.
@Entity('agents')
export class AgentEntity {
  @PrimaryColumn({ name: 'company_id', type: 'varchar', length: 64 })
  companyId!: string;

  @PrimaryColumn({ name: 'agent_id', type: 'varchar', length: 128 })
  agentId!: string;

  // The admin's name and login (PUT /v1/admin/agents/:agentId); null when the admin set none.
  @Column({ type: 'varchar', length: 255, nullable: true })
  name!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  login!: string | null;

  // What the agent's latest token said, kept apart from the admin's values so that a row the admin
  // created before the agent's first join still learns the token's login and name.
  @Column({ name: 'token_name', type: 'varchar', length: 255, nullable: true })
  tokenName!: string | null;

  @Column({ name: 'token_login', type: 'varchar', length: 255, nullable: true })
  tokenLogin!: string | null;

  @Column(boolColumn('permit_recordings', true))
  permitRecordings!: boolean;

  @Column({ name: 'sampling_percent', type: 'int', default: 100 })
  samplingPercent!: number;

  @Column(boolColumn('configured', false))
  configured!: boolean;

  @Column(timestampColumn('created_at'))
  createdAt!: Date;

  @Column(timestampColumn('updated_at'))
  updatedAt!: Date;
}
