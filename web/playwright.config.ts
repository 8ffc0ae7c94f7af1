// The browser journeys (e2e/*.spec.ts), run by `make test` through
// internal/cli/e2e/console against a real `berth server` on the local cluster.
// Debian's chromium is driven through executablePath; no browser is downloaded.
import { defineConfig } from '@playwright/test';

const baseURL = process.env.BERTH_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  testDir: 'e2e',
  // One server and one cluster serve every journey; running them one at a
  // time keeps a two-core machine responsive. Retries would hide flakes.
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  forbidOnly: true,
  reporter: [['list'], ['json', { outputFile: process.env.BERTH_REPORT ?? 'test-results/report.json' }]],
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    // The console turns its animations off for reduced motion: a click
    // cannot land where a dialog that is still zooming in will not be.
    contextOptions: { reducedMotion: 'reduce' },
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
    },
  },
  projects: [
    { name: 'zh-CN', use: { locale: 'zh-CN' } },
    { name: 'en', use: { locale: 'en-US' } },
  ],
});
