import 'reflect-metadata';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AdminSettingsService } from '../../src/admin/admin-settings.service';
import { AppModule } from '../../src/app.module';
import type { Principal } from '../../src/auth/principal';
import { ChatCreationService } from '../../src/chat/chat-creation.service';
import { ChatLifecycleService } from '../../src/chat/chat-lifecycle.service';
import { Clock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';

// The service's modules in this process, on SQLite in DIR, with a clock that stands still: every
// state change happens in the same millisecond. An agent joins, leaves, the company switch goes off,
// the agent joins again; prints the chat's markers (kind and time) as JSON. Jest cannot load the
// whole application in its runtime (a dependency's module wrapper), so test/state-change-times.test.ts
// runs this with node. Usage: node frozen-clock-run.js DIR
class StillClock extends Clock {
  override now(): Date {
    return new Date('2026-06-07T08:09:10.011Z');
  }
}

async function main(dir: string): Promise<void> {
  const config = loadConfig(
    { NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, EXPORT_LOCAL_DIR: join(dir, 'out'), DELIVERY_WORKER: 'false' },
    dir,
  );
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
    .overrideProvider(Clock)
    .useValue(new StillClock())
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  try {
    const company = 'stillclock';
    const flow: Principal = { sub: 'flow', company, role: 'flow' };
    const agent: Principal = { sub: 'p1', company, role: 'agent', name: 'P One' };
    const admin: Principal = { sub: 'adm', company, role: 'admin' };
    const { chatId } = await app.get(ChatCreationService).create(flow, { service: 's', customer: { id: 'c', name: 'Carol' } });
    const chats = app.get(ChatLifecycleService);
    await chats.assign(flow, chatId, 'p1');
    await chats.join(agent, chatId);
    await chats.leave(agent, chatId);
    await app.get(AdminSettingsService).putSettings(admin, { recordingEnabled: false });
    await chats.join(agent, chatId);
    const markers = (await app.get(DataSource).query('SELECT kind, at FROM chat_events WHERE chat_id = ? ORDER BY at, kind', [chatId])) as {
      kind: string;
      at: string;
    }[];
    process.stdout.write(`${JSON.stringify(markers)}\n`);
  } finally {
    await app.close();
  }
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
