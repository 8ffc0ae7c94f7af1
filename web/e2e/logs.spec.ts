// Log search from the console: a developer searches an application's pods
// for a text and sees only the matching lines, each with its pod and
// version; the search is in the audit trail; a viewer may not search.
import { appYAML, choose, expect, scopeTo, shot, signIn, signOut, test, world, worldYAML } from './fixtures';

const words = {
  'zh-CN': { logs: '日志', contains: '包含', search: '检索' },
  en: { logs: 'Logs', contains: 'Contains', search: 'Search' },
} as const;

test('a developer searches the logs of an application and a viewer may not', async ({ page, lang, admin }) => {
  // What every simulated container logs (written by the Go test that runs
  // the journeys: BERTH_POD_LOG_LINE is its one ERROR line).
  const errorLine = process.env.BERTH_POD_LOG_LINE ?? '';
  expect(errorLine, 'BERTH_POD_LOG_LINE names the ERROR line the pods log').not.toBe('');
  const lw = words[lang];
  const wd = world(lang, 'logs');
  await admin.apply(worldYAML(wd) + appYAML(wd, 'pay-api', 'v1'));
  await admin.call('PUT', `/tenants/${wd.tenant}/projects/pay/environments/dev/deployments/pay-api`, { version: 'v1' });
  for (const [user, role] of [[`dev-${wd.tenant}`, 'developer'], [`viewer-${wd.tenant}`, 'viewer']]) {
    await admin.user(user, 'password-of-a-user-1');
    await admin.call('POST', `/tenants/${wd.tenant}/projects/pay/members`, { user, role });
  }

  await signIn(page, lang, `dev-${wd.tenant}`, 'password-of-a-user-1');
  await scopeTo(page, wd);
  await expect(page.getByRole('row', { name: /pay-api/ }).locator('[data-state="Running"]')).toBeVisible({ timeout: 90_000 });
  await page.getByRole('menu', { name: 'navigation' }).getByText(lw.logs, { exact: true }).click();
  await choose(page, page.getByTestId('logs-app').getByRole('combobox'), 'pay-api');
  await page.getByLabel(lw.contains).fill('card 4111');
  const answer = page.waitForResponse((r) => r.url().includes('/deployments/pay-api/logs') && r.request().method() === 'GET');
  await page.getByRole('button', { name: lw.search, exact: true }).click();
  const body = await (await answer).json();
  const table = page.getByTestId('logs-lines');
  // One matching line per pod, as the server answered it.
  expect(body.lines.length, JSON.stringify(body)).toBe(body.pods);
  expect(body.pods).toBeGreaterThan(0);
  for (const l of body.lines) {
    expect(l.text).toBe(errorLine);
    await expect(table).toContainText(l.pod);
  }
  await expect(table).toContainText(errorLine);
  await expect(table).not.toContainText('INFO');
  await shot(page, lang, 'logs');

  const audit = await admin.call('GET', `/audit?action=log.read&tenant=${wd.tenant}&limit=10`);
  const searches = audit.items.filter((r: { actor: string; summary: string }) => r.actor === `dev-${wd.tenant}` && r.summary.includes('containing "card 4111"'));
  expect(searches.length, JSON.stringify(audit.items)).toBe(1);

  // A viewer sees the page, but the search is not theirs to run.
  await signOut(page, lang);
  await signIn(page, lang, `viewer-${wd.tenant}`, 'password-of-a-user-1');
  await scopeTo(page, wd);
  await page.getByRole('menu', { name: 'navigation' }).getByText(lw.logs, { exact: true }).click();
  await expect(page.getByRole('button', { name: lw.search, exact: true })).toBeDisabled();
});
