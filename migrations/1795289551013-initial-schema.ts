import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';

// Written with TypeORM's schema API rather than raw SQL so that the same migration builds the
// schema on MySQL/MariaDB and on the embedded SQLite default. Never edit after commit: add a new one.
const ts = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'datetime', precision: 3, isNullable: nullable });
const bool = (name: string, dflt: boolean): TableColumnOptions => ({ name, type: 'boolean', default: dflt ? 1 : 0 });
const vc = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const int = (name: string, dflt?: number, nullable = false): TableColumnOptions => ({
  name,
  type: 'integer',
  isNullable: nullable,
  ...(dflt === undefined ? {} : { default: dflt }),
});
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });

export class InitialSchema1795289551013 implements MigrationInterface {
  name = 'InitialSchema1795289551013';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'companies',
        columns: [
          { ...vc('id', 64), isPrimary: true },
          bool('recording_enabled', true),
          { ...vc('time_zone', 64), default: "'UTC'" },
          int('idle_timeout_seconds', 1800),
          int('retention_days', 30),
          bool('redact_card_data', true),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'agents',
        columns: [
          { ...vc('company_id', 64), isPrimary: true },
          { ...vc('agent_id', 128), isPrimary: true },
          vc('name', 255, true),
          vc('login', 255, true),
          bool('permit_recordings', true),
          int('sampling_percent', 100),
          bool('configured', false),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'profiles',
        columns: [
          { ...vc('company_id', 64), isPrimary: true },
          { ...vc('name', 64), isPrimary: true },
          vc('filename_template', 1024),
          vc('format', 8),
          bool('sidecar', false),
          ts('created_at'),
          ts('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'export_targets',
        columns: [{ ...vc('company_id', 64), isPrimary: true }, vc('type', 8), text('config'), ts('updated_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'chats',
        columns: [
          { ...vc('id', 36), isPrimary: true },
          vc('company_id', 64),
          vc('external_id', 255, true),
          vc('service', 255),
          vc('customer_id', 255, true),
          vc('customer_name', 255, true),
          text('metadata', true),
          vc('status', 16),
          vc('assigned_agent_id', 128, true),
          int('next_seq', 1),
          bool('paused', false),
          vc('consent', 8, true),
          bool('discarded', false),
          bool('abusive', false),
          bool('deletion_requested', false),
          bool('deletion_confirmed', false),
          ts('started_at'),
          ts('ended_at', true),
          vc('end_reason', 32, true),
          ts('last_activity_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_chats_company_external', columnNames: ['company_id', 'external_id'], isUnique: true }),
          new TableIndex({ name: 'ix_chats_status_activity', columnNames: ['status', 'last_activity_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'messages',
        columns: [
          { ...vc('chat_id', 36), isPrimary: true },
          { ...int('seq'), isPrimary: true },
          vc('client_msg_id', 128, true),
          vc('sender_role', 16),
          vc('sender_id', 255),
          vc('sender_name', 255, true),
          text('text', true),
          bool('paused', false),
          ts('at'),
        ],
        indices: [new TableIndex({ name: 'uq_messages_client', columnNames: ['chat_id', 'sender_id', 'client_msg_id'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'chat_events',
        columns: [
          { ...vc('id', 36), isPrimary: true },
          vc('chat_id', 36),
          int('after_seq'),
          vc('kind', 32),
          vc('actor_role', 16),
          vc('actor_id', 255, true),
          vc('actor_name', 255, true),
          vc('detail', 2000, true),
          ts('at'),
        ],
        indices: [new TableIndex({ name: 'ix_chat_events_chat', columnNames: ['chat_id', 'after_seq'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'participants',
        columns: [
          { ...vc('chat_id', 36), isPrimary: true },
          { ...vc('agent_id', 128), isPrimary: true },
          vc('role', 16),
          vc('name', 255, true),
          bool('permit_recordings', true),
          ts('joined_at'),
          ts('left_at', true),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'recordings',
        columns: [
          { ...vc('id', 36), isPrimary: true },
          vc('chat_id', 36),
          vc('company_id', 64),
          vc('kind', 8),
          vc('profile_name', 64),
          vc('label', 255, true),
          vc('agent_id', 128, true),
          { name: 'sampled_in', type: 'boolean', isNullable: true },
          vc('sampling_reason', 255, true),
          vc('status', 16),
          vc('outcome_reason', 32, true),
          vc('outcome_detail', 1000, true),
          int('start_seq'),
          int('end_seq', undefined, true),
          ts('started_at'),
          ts('stopped_at', true),
          vc('file_name', 1024, true),
          vc('file_key', 64, true),
          vc('file_sha256', 64, true),
          ts('delivered_at', true),
          int('attempts', 0),
          vc('last_error', 2000, true),
          bool('purged', false),
          ts('created_at'),
          ts('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'ix_recordings_chat', columnNames: ['chat_id'] }),
          new TableIndex({ name: 'ix_recordings_company_status', columnNames: ['company_id', 'status'] }),
          new TableIndex({ name: 'uq_recordings_file', columnNames: ['company_id', 'file_key'], isUnique: true }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'delivery_jobs',
        columns: [
          { ...vc('recording_id', 36), isPrimary: true },
          vc('company_id', 64),
          vc('state', 8),
          int('attempts', 0),
          ts('next_attempt_at'),
          vc('lease_owner', 128, true),
          ts('lease_until', true),
          vc('last_error', 2000, true),
          ts('created_at'),
          ts('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ix_delivery_jobs_due', columnNames: ['state', 'next_attempt_at'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          { ...vc('id', 36), isPrimary: true },
          vc('company_id', 64),
          vc('chat_id', 36, true),
          ts('at'),
          vc('actor_role', 16),
          vc('actor_id', 255, true),
          vc('action', 64),
          text('detail', true),
        ],
        indices: [
          new TableIndex({ name: 'ix_audit_company_at', columnNames: ['company_id', 'at'] }),
          new TableIndex({ name: 'ix_audit_company_chat', columnNames: ['company_id', 'chat_id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'audit_log',
      'delivery_jobs',
      'recordings',
      'participants',
      'chat_events',
      'messages',
      'chats',
      'export_targets',
      'profiles',
      'agents',
      'companies',
    ]) {
      await q.dropTable(t);
    }
  }
}
