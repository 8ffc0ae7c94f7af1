// Four eyes and an automatic rollback, in the browser: one release manager
// creates an order, a second approves and starts it, and the
// crash-looping version rolls everything back while the page follows live.
import { appYAML, choose, expect, scopeTo, shot, signIn, signOut, test, world, worldYAML } from './fixtures';

test('an order created by one user, approved by another, rolls back on a crash loop while the page watches', async ({ page, lang, w, admin }) => {
  const wd = world(lang, 'rel');
  await admin.apply(worldYAML(wd, 0) + appYAML(wd, 'auth', 'v1') + appYAML(wd, 'fees', 'v1'));
  await admin.apply(appYAML(wd, 'auth', 'v2-crash', 'crash-loop') + appYAML(wd, 'fees', 'v2'));
  for (const app of ['auth', 'fees']) {
    await admin.call('PUT', `/tenants/${wd.tenant}/projects/pay/environments/dev/deployments/${app}`, { version: 'v1' });
  }
  // From now on the environment needs one approval: versions change only by approved orders.
  await admin.apply(worldYAML(wd, 1));
  const [author, approver] = [`rm1-${wd.tenant}`, `rm2-${wd.tenant}`];
  for (const u of [author, approver]) {
    await admin.user(u, 'release-manager-pw');
    await admin.call('POST', `/tenants/${wd.tenant}/projects/pay/members`, { user: u, role: 'release-manager' });
  }

  await signIn(page, lang, author, 'release-manager-pw');
  await scopeTo(page, wd);
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.releases, { exact: true }).click();
  await page.getByRole('button', { name: w.create }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.titleField).fill('fees v2');
  await dialog.getByLabel(w.ticket).fill('CHG-1');
  // Stage 1: fees v2; stage 2: auth v2-crash.
  await choose(page, dialog.getByLabel(w.application).first(), 'fees');
  await dialog.getByLabel(w.version).first().fill('v2');
  await dialog.getByRole('button', { name: /阶段|stage/i }).last().click();
  await choose(page, dialog.getByLabel(w.application).nth(1), 'auth');
  await dialog.getByLabel(w.version).nth(1).fill('v2-crash');
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();

  // Created (not a draft), the order waits for approval; its author may not approve it.
  await expect(page.locator('[data-state="PendingApproval"]').first()).toBeVisible();
  await expect(page.getByTestId('approvals')).toContainText(w.approvalsNone);
  await expect(page.getByRole('button', { name: w.approve })).toHaveCount(0);
  const url = page.url();
  await signOut(page, lang);

  await signIn(page, lang, approver, 'release-manager-pw');
  await page.goto(url);
  await page.getByRole('button', { name: w.approve }).click();
  await expect(page.locator('[data-state="Approved"]').first()).toBeVisible();
  await expect(page.getByTestId('approvals')).toContainText(approver);
  await page.getByRole('button', { name: w.start, exact: true }).click();

  // From here no reload: the stream carries every state change.
  await expect(page.locator('h4 [data-state="RolledBack"]')).toBeVisible({ timeout: 100_000 });
  await expect(page.getByTestId('failure')).toContainText('CrashLoopBackOff');
  await expect(page.getByRole('row', { name: /^fees/ }).locator('[data-state="RolledBack"]')).toBeVisible();
  await shot(page, lang, 'release-order');
});
