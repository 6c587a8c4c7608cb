import type { Config } from 'jest';

/**
 * One jest run for the whole workspace. Tests import sibling packages by their
 * published names; the mapper points those names at the sources so a test never
 * needs a build first.
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/examples', '<rootDir>/bench'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^@axios-resilience/dlq/cli$': '<rootDir>/packages/dlq/src/cli.ts',
    '^@axios-resilience/chaos/proxy$': '<rootDir>/packages/chaos/src/proxy.ts',
    '^@axios-resilience/(core|retry|idempotency|ratelimit|dlq|chaos|testkit)$': '<rootDir>/packages/$1/src/index.ts',
    '^axios-resilience$': '<rootDir>/packages/axios-resilience/src/index.ts',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 30_000,
  maxWorkers: 2,
  detectOpenHandles: false,
};

export default config;
