// Jest-only (it registers hooks), so left out of the build (tsconfig.build.json), which compiles the
// rest of test/support for the bench.
import { AppHandle, cleanupDir, migrate, startApp } from './app';
import { createTestDatabase, TestDatabase } from './database';
import { SshdHandle, startSshd } from './sshd';

// What most delivery suites run on: MariaDB (its own database, the real migrations), a private
// sshd playing Horizon, and one instance of the service.
export interface DeliveryStack {
  db: TestDatabase;
  sshd: SshdHandle;
  app: AppHandle;
}

// Starts the stack before the calling suite's tests and tears it down after them (also after a
// failed start: whatever did start is stopped). The fields are set once `beforeAll` has run.
// `prefix` names the test database; `env` is the instance's environment.
export function deliveryStack(opts: { prefix?: string; env?: Record<string, string> } = {}): DeliveryStack {
  const stack = {} as DeliveryStack;
  beforeAll(async () => {
    stack.db = await createTestDatabase(opts.prefix);
    await migrate(stack.db.url);
    stack.sshd = await startSshd();
    stack.app = await startApp({ databaseUrl: stack.db.url, env: opts.env });
  });
  afterAll(async () => {
    await stack.app?.stop();
    if (stack.app) cleanupDir(stack.app.workDir);
    await stack.sshd?.destroy();
    await stack.db?.drop();
  });
  return stack;
}

// The same without the sshd, for suites that need only the service and its database.
export function appStack(opts: { prefix?: string; env?: Record<string, string> } = {}): Omit<DeliveryStack, 'sshd'> {
  const stack = {} as Omit<DeliveryStack, 'sshd'>;
  beforeAll(async () => {
    stack.db = await createTestDatabase(opts.prefix);
    await migrate(stack.db.url);
    stack.app = await startApp({ databaseUrl: stack.db.url, env: opts.env });
  });
  afterAll(async () => {
    await stack.app?.stop();
    if (stack.app) cleanupDir(stack.app.workDir);
    await stack.db?.drop();
  });
  return stack;
}
