// One jest config, two projects: fast unit specs next to the code, and integration/e2e suites in
// test/ that run against real MariaDB and a real OpenSSH sshd.
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  'node_modules/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.transform.cjs',
};
const transformIgnorePatterns = ['/node_modules/(?!(@nestjs)/)'];

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
  ],
};
