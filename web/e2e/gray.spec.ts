// A gray plan started from the console with cohorts from the org tree, then
// widened step by step, with what serves now shown at every step.
import { appYAML, choose, expect, scopeTo, shot, signIn, test, world, worldYAML, adminPassword } from './fixtures';

test('a gray plan is started by teller then branch and widened step by step', async ({ page, lang, w, admin }) => {
  const wd = world(lang, 'gray');
  await admin.apply(worldYAML(wd) + appYAML(wd, 'red-auth', 'v1'));
  await admin.apply(appYAML(wd, 'red-auth', 'v3'));
  await admin.call('PUT', `/tenants/${wd.tenant}/org`, {
    csv: 'level,code,name,parent\nregion,north,North,\nbranch,0101,Branch 0101,north\nteller,T900,Teller 900,0101\n',
  });
  await admin.call('PUT', `/tenants/${wd.tenant}/projects/pay/environments/dev/deployments/red-auth`, { version: 'v1' });

  await signIn(page, lang, 'admin', adminPassword);
  await scopeTo(page, wd);
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.gray, { exact: true }).click();
  await page.getByRole('button', { name: w.startGray }).click();
  const dialog = page.getByRole('dialog');
  await choose(page, dialog.getByLabel(w.application), 'red-auth');
  await choose(page, dialog.getByLabel(w.grayVersion), 'v3');
  // Step 1: teller T900; step 2: branch 0101, chosen from the org tree.
  await choose(page, dialog.getByLabel(/ 1$/), 'T900', true);
  await dialog.getByRole('button', { name: /灰度步骤|Steps/ }).click();
  await choose(page, dialog.getByLabel(/ 2$/), 'Branch 0101', true);
  await dialog.getByRole('button', { name: w.ok }).click();
  await expect(dialog).toBeHidden();

  const plan = page.getByTestId('plan-red-auth');
  await expect(plan.getByTestId('serving')).toContainText(`${w.tellers} T900`);
  await shot(page, lang, 'gray');
  await plan.getByRole('button', { name: w.widen }).click();
  await expect(plan.getByTestId('serving')).toContainText(`${w.branches} 0101`);
  await expect(plan.getByRole('button', { name: w.widen })).toHaveCount(0);
  await plan.getByRole('button', { name: w.promote }).click();
  await page.getByRole('dialog').getByRole('button', { name: w.ok }).click();
  await expect(plan.locator('[data-state="Promoted"]')).toBeVisible();
});
