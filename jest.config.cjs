// One jest config, two projects: fast unit specs next to the code, and integration/e2e suites in
// test/ that run against real MariaDB and a real OpenSSH sshd.
// The client library's TS source (client/src, ESM) gets its own transformer; anchored at this
// folder so that no other path containing "/client/src/" matches.
const clientSource =
  '^' +
  require('node:path')
    .join(__dirname, 'client', 'src')
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&') +
  '/.+\\.ts$';
const transform = {
  [clientSource]: '<rootDir>/test/support/client-ts.transform.cjs',
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  'node_modules/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.transform.cjs',
};
const transformIgnorePatterns = ['/node_modules/(?!(@nestjs)/)'];
// The client library (client/) is ESM with `.js` in its relative imports; jest runs its TS source.
const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/client/src/**/*.spec.ts'],
      transform,
      moduleNameMapper,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      transform,
      moduleNameMapper,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
  ],
};
