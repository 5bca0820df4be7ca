import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run files two at a time against the shared services.
    maxWorkers: 2,
    reporters: process.env.PACHBACKUP_TEST_REPORT ? ['default', 'json'] : ['default'],
    outputFile: process.env.PACHBACKUP_TEST_REPORT ? { json: process.env.PACHBACKUP_TEST_REPORT } : {},
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
