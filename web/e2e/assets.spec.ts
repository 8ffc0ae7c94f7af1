// Port pools as compact ranges, the audit chain verified, and a viewer who
// sees everything of their tenant and can change nothing.
import { appYAML, expect, scopeTo, shot, signIn, test, world, worldYAML, adminPassword } from './fixtures';

test('port pools show as compact ranges with what is free', async ({ page, lang, w, admin }) => {
  const wd = world(lang, 'net');
  // Each language's run takes its own ports of the shared pool.
  const base = lang === 'en' ? 31100 : 31000;
  const [granted, project, free] = [`${base}-${base + 19}`, `${base}-${base + 9}`, `${base + 10}-${base + 19}`];
  await admin.apply(
    worldYAML(wd) +
      `---\napiVersion: berth.dev/v1\nkind: PortPool\nmetadata: {name: local}\nspec: {ports: "30000-32767"}\n` +
      `---\napiVersion: berth.dev/v1\nkind: PortGrant\nmetadata: {tenant: ${wd.tenant}}\nspec: {cluster: local, ports: "${granted}"}\n` +
      `---\napiVersion: berth.dev/v1\nkind: PortGrant\nmetadata: {tenant: ${wd.tenant}, project: pay}\nspec: {cluster: local, ports: "${project}"}\n`,
  );
  await signIn(page, lang, 'admin', adminPassword);
  await scopeTo(page, { tenant: wd.tenant });
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.network, { exact: true }).click();
  const row = page.getByRole('row', { name: /local/ }).first();
  await expect(row.getByTestId('ports')).toHaveText(granted);
  await expect(row).toContainText(project);
  await expect(row.getByTestId('free')).toHaveText(free);
  await shot(page, lang, 'network');
});

test('the audit chain verifies from the console', async ({ page, lang, w }) => {
  await signIn(page, lang, 'admin', adminPassword);
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.audit, { exact: true }).click();
  await expect(page.getByRole('cell', { name: 'login' }).first()).toBeVisible();
  await page.getByRole('button', { name: w.verify }).click();
  await expect(page.getByTestId('verify-ok')).toContainText(w.chainOk);
  await shot(page, lang, 'audit');
});

test('a viewer sees their tenant and every change is offered disabled with the reason', async ({ page, lang, w, admin }) => {
  const wd = world(lang, 'view');
  await admin.apply(worldYAML(wd) + appYAML(wd, 'red-auth', 'v1'));
  await admin.call('PUT', `/tenants/${wd.tenant}/projects/pay/environments/dev/deployments/red-auth`, { version: 'v1' });
  const viewer = `viewer-${wd.tenant}`;
  await admin.user(viewer, 'viewer-password-1');
  await admin.call('POST', `/tenants/${wd.tenant}/members`, { user: viewer, role: 'viewer' });

  await signIn(page, lang, viewer, 'viewer-password-1');
  // Only the viewer's tenant is offered.
  await page.getByTestId('scope-tenant').click();
  await expect(page.locator('.ant-select-dropdown:visible .ant-select-item-option')).toHaveCount(1);
  await page.keyboard.press('Escape');
  await scopeTo(page, wd);
  const row = page.getByRole('row', { name: /red-auth/ });
  await expect(row).toBeVisible();
  const deploy = page.getByRole('button', { name: w.deploy, exact: true });
  await expect(deploy).toBeDisabled();
  await expect(deploy).toHaveAttribute('data-denied', 'deployment:deploy');
  for (const b of await row.getByRole('button').all()) await expect(b).toBeDisabled();
  await deploy.hover({ force: true });
  await expect(page.getByRole('tooltip')).toContainText(w.noPermission);
  // The API agrees with what the page offers.
  const r = await page.request.put(`/api/v1/tenants/${wd.tenant}/projects/pay/environments/dev/deployments/red-auth`, {
    data: { version: 'v1' },
    headers: { 'X-CSRF-Token': (await page.context().cookies()).find((c) => c.name === 'berth_csrf')?.value ?? '' },
  });
  expect(r.status()).toBe(403);
});
