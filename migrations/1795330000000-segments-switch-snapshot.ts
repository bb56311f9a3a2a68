import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

// Three things a recording must know exactly:
// - its segments: an agent who leaves and rejoins is captured only while in the chat, so a recording
//   is a list of seq ranges (one per stay) rather than one range;
// - the company switch, per open chat (chats.recording_off), set in the admin's transaction;
// - its profile as it was when it started (template, format, sidecar), so that editing or deleting
//   the profile later changes nothing for it.
export class SegmentsSwitchSnapshot1795330000000 implements MigrationInterface {
  name = 'SegmentsSwitchSnapshot1795330000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'recording_segments',
        columns: [
          { name: 'recording_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'ordinal', type: 'integer', isPrimary: true },
          { name: 'start_seq', type: 'integer' },
          { name: 'end_seq', type: 'integer', isNullable: true },
          { name: 'started_at', type: 'datetime', precision: 3 },
          { name: 'stopped_at', type: 'datetime', precision: 3, isNullable: true },
        ],
      }),
    );
    // Every existing recording had one range: it becomes its one segment.
    await q.query(
      'INSERT INTO recording_segments (recording_id, ordinal, start_seq, end_seq, started_at, stopped_at) SELECT id, 1, start_seq, end_seq, started_at, stopped_at FROM recordings',
    );

    await q.addColumn('chats', new TableColumn({ name: 'recording_off', type: 'boolean', default: 0 }));
    await q.query("UPDATE chats SET recording_off = 1 WHERE status = 'open' AND company_id IN (SELECT id FROM companies WHERE recording_enabled = 0)");

    await q.addColumn('recordings', new TableColumn({ name: 'profile_template', type: 'varchar', length: '1024', isNullable: true }));
    await q.addColumn('recordings', new TableColumn({ name: 'profile_format', type: 'varchar', length: '8', isNullable: true }));
    await q.addColumn('recordings', new TableColumn({ name: 'profile_sidecar', type: 'boolean', isNullable: true }));
    // Recordings that exist now keep the profile as it is now (the best that can be known).
    const fromProfile = (col: string) => `(SELECT p.${col} FROM profiles p WHERE p.company_id = recordings.company_id AND p.name = recordings.profile_name)`;
    await q.query(
      `UPDATE recordings SET profile_template = ${fromProfile('filename_template')}, profile_format = ${fromProfile('format')}, profile_sidecar = ${fromProfile('sidecar')}`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('recordings', 'profile_sidecar');
    await q.dropColumn('recordings', 'profile_format');
    await q.dropColumn('recordings', 'profile_template');
    await q.dropColumn('chats', 'recording_off');
    await q.dropTable('recording_segments');
  }
}
