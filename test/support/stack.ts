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

export type AppStack = Omit<DeliveryStack, 'sshd'>;

export interface StackOptions {
  // Names the test database.
  prefix?: string;
  // The instance's environment.
  env?: Record<string, string>;
}

// Starts the stack before the calling suite's tests and tears it down after them (also after a
// failed start: whatever did start is stopped). The fields are set once `beforeAll` has run.
export function deliveryStack(opts: StackOptions = {}): DeliveryStack {
  return registerStack(opts, true) as DeliveryStack;
}

// The same without the sshd, for suites that need only the service and its database.
export function appStack(opts: StackOptions = {}): AppStack {
  return registerStack(opts, false);
}

function registerStack(opts: StackOptions, withSshd: boolean): Partial<DeliveryStack> & AppStack {
  const stack = {} as Partial<DeliveryStack> & AppStack;
  beforeAll(async () => {
    stack.db = await createTestDatabase(opts.prefix);
    await migrate(stack.db.url);
    if (withSshd) stack.sshd = await startSshd();
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
