// The README tour in the browser: tenant, project, environment and an
// application created from the console, deployed, watched becoming Running
// without a reload, then scaled.
import { choose, expect, shot, signIn, test, adminPassword, nsPrefix } from './fixtures';

test('create a tenant, project, environment and application, deploy it and watch it run', async ({ page, lang, w, admin }) => {
  const sfx = lang === 'en' ? 'en' : 'zh';
  const stamp = (Date.now() % 1_000_000).toString(36);
  const tenant = `tour-${sfx}-${stamp}`;
  const namespace = `${nsPrefix}-tour-${sfx}-${stamp}`;
  await admin.apply('apiVersion: berth.dev/v1\nkind: ResourceTier\nmetadata: {name: small}\nspec: {requests: {cpu: 100m, memory: 128Mi}, capacity: "~300 TPS"}\n');
  await signIn(page, lang, 'admin', adminPassword);

  await page.getByRole('menu', { name: 'navigation' }).getByText(w.tenancy, { exact: true }).click();
  await page.getByRole('button', { name: w.newTenant }).click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.name, { exact: true }).fill(tenant);
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole('cell', { name: tenant, exact: true }).first().click();

  await page.getByRole('button', { name: w.newProject }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.name, { exact: true }).fill('pay');
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole('cell', { name: 'pay', exact: true }).first().click();

  // A bad namespace is refused with the field named next to it.
  await page.getByRole('button', { name: w.newEnvironment }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.name, { exact: true }).fill('dev');
  await choose(page, dialog.getByLabel(w.cluster), 'local');
  await dialog.getByLabel(w.namespace).fill('Not_A_Namespace');
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog.locator('#namespace_help, .ant-form-item-explain-error').first()).toBeVisible();
  await dialog.getByLabel(w.namespace).fill(namespace);
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole('cell', { name: 'dev', exact: true }).first().click();
  await shot(page, lang, 'tenancy');

  await page.getByRole('menu', { name: 'navigation' }).getByText(w.apps, { exact: true }).click();
  await page.getByRole('button', { name: w.newApp }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.name, { exact: true }).fill('red-auth');
  await dialog.getByLabel(w.image).fill('registry.local/red-auth:1.0');
  await choose(page, dialog.getByLabel(w.tier), 'small');
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();

  await page.getByRole('button', { name: w.deploy, exact: true }).click();
  dialog = page.getByRole('dialog');
  await choose(page, dialog.getByLabel(w.application), 'red-auth');
  await choose(page, dialog.getByLabel(w.version), 'v1');
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();

  // No reload from here on: the live stream brings the status.
  const row = page.getByRole('row', { name: /red-auth/ });
  await expect(row.locator('[data-state="Running"]')).toBeVisible({ timeout: 90_000 });
  await expect(row).toContainText('1/1');
  await shot(page, lang, 'apps');

  await row.getByRole('button', { name: w.scale }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.replicas).fill('2');
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(row).toContainText('2/2', { timeout: 90_000 });

  await row.getByRole('link', { name: 'red-auth' }).click();
  await expect(page.getByRole('cell', { name: /^red-auth-/ }).first()).toBeVisible();
  await shot(page, lang, 'app-detail');
});
