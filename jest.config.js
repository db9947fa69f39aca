/**
 * Three tiers, one run: unit specs beside the code, integration tests against real RabbitMQ and
 * Postgres (test/integration), end-to-end tests that start the services as processes (test/e2e).
 * The global setup gives each run its own vhost and database, from AMQP_URL / DATABASE_URL when set,
 * local defaults when they answer, testcontainers otherwise.
 */
const swc = ['@swc/jest', { swcrc: false, jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2023', keepClassNames: true }, module: { type: 'commonjs' } }];
const moduleNameMapper = {
  '^@app/testing$': '<rootDir>/test/support',
  '^@app/(contracts|messaging|persistence|observability|config|channel-kit)$': '<rootDir>/libs/$1/src',
};
const common = { transform: { '^.+\\.ts$': swc }, moduleNameMapper, testEnvironment: 'node' };

module.exports = {
  // NestJS 12 ships ES modules: the test script runs Node with --experimental-vm-modules so jest can require() them.
  testTimeout: 60_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts}/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
