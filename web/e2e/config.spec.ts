// The config center in the browser: a developer creates an item, publishes
// a second revision and reads the diff, grays a third to the pods of an
// application version and promotes it, rolls back to the first, and is
// refused YAML that does not parse, with the server's reason naming the
// line; in an environment with four eyes a proposal is approved by another
// person and a proposal made elsewhere shows live. Every expectation is read
// from what the server answered.
import type { Page, Response } from '@playwright/test';
import { appYAML, choose, expect, scopeTo, shot, signIn, signOut, test, world, worldYAML } from './fixtures';

/** answer runs act and returns the server's answer to the request it makes. */
async function answer(page: Page, method: string, path: RegExp, act: () => Promise<unknown>) {
  const [resp] = await Promise.all([
    page.waitForResponse((r: Response) => r.request().method() === method && path.test(new URL(r.url()).pathname)),
    act(),
  ]);
  return { status: resp.status(), body: await resp.json() };
}

const r1 = 'spring:\n  datasource:\n    pool: 10\n  profile: blue\n';
const r2 = 'spring:\n  datasource:\n    pool: 20\n    timeout: 3s\n  profile: blue\n';
const r3 = 'spring:\n  datasource:\n    pool: 30\n    timeout: 3s\n  profile: blue\n';
// A tab cannot start a YAML token: line 3 is wrong.
const bad = 'spring:\n  datasource:\n\tpool: 40\n';

test('a config item is published, compared, grayed to a version, promoted, rolled back and refused bad YAML by line', async ({ page, lang, w, admin }) => {
  const wd = world(lang, 'cfg');
  await admin.apply(worldYAML(wd) + appYAML(wd, 'red-auth', 'v1') + appYAML(wd, 'red-auth', 'v2'));
  const dev = `dev-${wd.tenant}`;
  await admin.user(dev, 'developer-password');
  await admin.call('POST', `/tenants/${wd.tenant}/projects/pay/members`, { user: dev, role: 'developer' });
  const item = `/tenants/${wd.tenant}/projects/pay/environments/dev/configs/DEFAULT_GROUP/red-auth.yaml`;
  const itemPath = new RegExp(`/api/v1${item.replaceAll('.', '\\.')}$`);

  await signIn(page, lang, dev, 'developer-password');
  await scopeTo(page, wd);
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.config, { exact: true }).click();

  // A new item: revision 1, opened on its own page.
  await page.getByRole('button', { name: w.newItem }).click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.dataId).fill('red-auth.yaml');
  await dialog.getByLabel(w.content, { exact: true }).fill(r1);
  await dialog.getByLabel(w.comment).fill('first');
  await dialog.getByLabel(w.ticket).fill('CHG-1');
  const first = await answer(page, 'PUT', itemPath, () => dialog.getByRole('button', { name: w.publish, exact: true }).click());
  expect(first.status).toBe(200);
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('current-revision')).toHaveText(`r${first.body.number}`);

  // A second revision, and the diff the server computes from 1 to 2.
  await page.getByRole('button', { name: w.newRevision }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.content, { exact: true }).fill(r2);
  await dialog.getByLabel(w.comment).fill('raise the pool');
  const second = await answer(page, 'PUT', itemPath, () => dialog.getByRole('button', { name: w.publish, exact: true }).click());
  expect(second.status).toBe(200);
  expect(second.body.number).toBe(first.body.number + 1);
  await expect(page.getByTestId('current-revision')).toHaveText(`r${second.body.number}`);
  const diff = await answer(page, 'GET', new RegExp(`${itemPath.source.slice(0, -1)}/diff$`), () => page.getByRole('tab', { name: w.compare }).click());
  expect(diff.body.from).toBe(first.body.number);
  expect(diff.body.to).toBe(second.body.number);
  const of = (op: string) => (diff.body.lines as { op: string; text: string }[]).filter((l) => l.op === op).map((l) => l.text.trim());
  expect(of('-').length + of('+').length).toBeGreaterThan(0);
  await expect(page.getByTestId('diff-split').locator('td[data-op="removed"]')).toHaveText(of('-'));
  await expect(page.getByTestId('diff-split').locator('td[data-op="added"]')).toHaveText(of('+'));
  await page.getByText(w.unified, { exact: true }).click();
  await expect(page.getByTestId('diff-unified').locator('tr[data-op="removed"] td:last-child')).toHaveText(of('-'));
  await expect(page.getByTestId('diff-unified').locator('tr[data-op="added"] td:last-child')).toHaveText(of('+'));
  await shot(page, lang, 'config-diff');

  // A third revision to the pods of red-auth v2 only, then to everyone.
  await page.getByRole('button', { name: w.publishGray, exact: true }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.content, { exact: true }).fill(r3);
  await choose(page, dialog.getByLabel(w.cohortApp), 'red-auth');
  await choose(page, dialog.getByLabel(w.cohortVersion), 'v2');
  await dialog.getByLabel(w.comment).fill('pool 30 on v2 first');
  const gray = await answer(page, 'PUT', itemPath, () => dialog.getByRole('button', { name: w.publish, exact: true }).click());
  expect(gray.status).toBe(200);
  expect(gray.body.state).toBe('gray');
  const grayed = await admin.call('GET', item);
  expect(grayed.gray.revision).toBe(gray.body.number);
  expect(grayed.gray.cohort.versions).toEqual([{ app: 'red-auth', version: 'v2' }]);
  expect(grayed.revision).toBe(second.body.number);
  const banner = page.getByTestId('gray-banner');
  await expect(banner).toContainText(`r${gray.body.number}`);
  await expect(banner).toContainText('red-auth:v2');
  await expect(page.getByTestId('current-revision')).toHaveText(`r${second.body.number}`);
  await shot(page, lang, 'config-gray');
  await banner.getByRole('button', { name: w.promoteAll }).click();
  const promoted = await answer(page, 'POST', /\/gray\/promote$/, () => page.getByRole('dialog').getByRole('button', { name: w.ok }).click());
  expect(promoted.body.state).toBe('published');
  await expect(page.getByTestId('current-revision')).toHaveText(`r${gray.body.number}`);
  await expect(banner).toHaveCount(0);
  expect((await admin.call('GET', item)).content).toBe(r3);

  // Roll back to revision 1: a new revision with revision 1's content.
  await page.getByRole('tab', { name: w.history }).click();
  await page.getByTestId(`revision-${first.body.number}`).getByRole('button', { name: w.rollbackTo }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.comment).fill('back to the first pool');
  const back = await answer(page, 'POST', /\/rollback$/, () => dialog.getByRole('button', { name: w.rollbackTo }).click());
  expect(back.status).toBe(200);
  expect(back.body.from).toBe(first.body.number);
  await expect(page.getByTestId('current-revision')).toHaveText(`r${back.body.number}`);
  await expect(page.getByTestId(`revision-${back.body.number}`)).toContainText(`${w.restores} r${first.body.number}`);
  await expect(page.getByTestId(`revision-${back.body.number}`)).toContainText('back to the first pool');
  await shot(page, lang, 'config-history');
  const now = await admin.call('GET', item);
  expect(now.revision).toBe(back.body.number);
  expect(now.content).toBe((await admin.call('GET', `${item}/revisions/${first.body.number}`)).content);
  await page.getByRole('tab', { name: w.content, exact: true }).click();
  await expect(page.getByRole('tabpanel').getByRole('textbox')).toHaveValue(now.content);

  // YAML that does not parse: refused, the server's reason under the editor, its line marked.
  await page.getByRole('button', { name: w.newRevision }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.content, { exact: true }).fill(bad);
  const refused = await answer(page, 'PUT', itemPath, () => dialog.getByRole('button', { name: w.publish, exact: true }).click());
  expect(refused.status).toBe(422);
  const reason: string = refused.body.fields.find((f: { path: string }) => f.path === 'content').reason;
  const line = Number(/line (\d+)/.exec(reason)?.[1]);
  expect(line).toBe(3);
  await expect(dialog.getByText(reason)).toBeVisible();
  await expect(dialog.locator(`[data-line="${line}"][data-marked="true"]`)).toBeVisible();
  await shot(page, lang, 'config-invalid');
  await dialog.getByRole('button', { name: w.cancel }).click();
  await expect(dialog).toBeHidden();
  expect((await admin.call('GET', item)).revision).toBe(back.body.number);
});

test('a proposal in an environment with four eyes is approved by another, and a secret stays hidden from a viewer', async ({ page, lang, w, admin }) => {
  const wd = world(lang, 'cfg4');
  await admin.apply(worldYAML(wd, 0));
  const configs = `/tenants/${wd.tenant}/projects/pay/environments/dev/configs/DEFAULT_GROUP`;
  const secret = 'jdbc-password-' + wd.tenant;
  await admin.call('PUT', `${configs}/fees.properties`, { type: 'properties', content: 'fee.rate=0.30\n', comment: 'first' });
  await admin.call('PUT', `${configs}/db-password`, { type: 'text', secret: true, content: secret, comment: 'sealed' });
  // From now on a change needs one approval by someone other than its author.
  await admin.apply(worldYAML(wd, 1));
  const [dev, rm, viewer] = [`dev-${wd.tenant}`, `rm-${wd.tenant}`, `ro-${wd.tenant}`];
  for (const [u, role] of [[dev, 'developer'], [rm, 'release-manager'], [viewer, 'viewer']]) {
    await admin.user(u, 'config-password-1');
    await admin.call('POST', `/tenants/${wd.tenant}/projects/pay/members`, { user: u, role });
  }

  // A viewer sees that db-password is secret, never its content, and may change nothing.
  await signIn(page, lang, viewer, 'config-password-1');
  await scopeTo(page, wd);
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.config, { exact: true }).click();
  await expect(page.getByTestId('config-db-password').getByTestId('secret')).toBeVisible();
  await expect(page.getByTestId('config-fees.properties').getByTestId('secret')).toHaveCount(0);
  await shot(page, lang, 'config');
  const [seen] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'GET' && r.url().endsWith('/configs/DEFAULT_GROUP/db-password')),
    page.getByRole('link', { name: 'db-password' }).click(),
  ]);
  const body = await seen.json();
  expect(body.redacted).toBe(true);
  expect(body.content ?? '').toBe('');
  await expect(page.getByTestId('redacted')).toBeVisible();
  await expect(page.getByRole('button', { name: w.newRevision })).toHaveAttribute('data-denied', 'config:write');
  expect(await page.content()).not.toContain(secret);
  await signOut(page, lang);

  // The developer's change is proposed: the item keeps revision 1 and the author is not offered approval.
  await signIn(page, lang, dev, 'config-password-1');
  await page.getByRole('menu', { name: 'navigation' }).getByText(w.config, { exact: true }).click();
  await page.getByRole('link', { name: 'fees.properties' }).click();
  await page.getByRole('button', { name: w.newRevision }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(w.content, { exact: true }).fill('fee.rate=0.25\n');
  await dialog.getByLabel(w.comment).fill('lower the fee');
  const proposed = await answer(page, 'PUT', /\/configs\/DEFAULT_GROUP\/fees\.properties$/, () => dialog.getByRole('button', { name: w.publish, exact: true }).click());
  expect(proposed.body.state).toBe('proposed');
  const banner = page.getByTestId('proposal-banner');
  await expect(banner).toContainText(`r${proposed.body.number}`);
  await expect(banner).toContainText(w.ownProposal);
  await expect(banner.getByRole('button', { name: w.approveConfig })).toHaveCount(0);
  const before = await admin.call('GET', `${configs}/fees.properties`);
  expect(before.proposal).toBe(proposed.body.number);
  await expect(page.getByTestId('current-revision')).toHaveText(`r${before.revision}`);
  const url = page.url();
  await signOut(page, lang);

  // A release manager approves it: it becomes current.
  await signIn(page, lang, rm, 'config-password-1');
  await page.goto(url);
  const approved = await answer(page, 'POST', /\/approve$/, () => page.getByTestId('proposal-banner').getByRole('button', { name: w.approveConfig }).click());
  expect(approved.body.state).toBe('published');
  expect(approved.body.approvals).toEqual([rm]);
  await expect(page.getByTestId('current-revision')).toHaveText(`r${proposed.body.number}`);
  await expect(page.getByTestId('proposal-banner')).toHaveCount(0);
  expect((await admin.call('GET', `${configs}/fees.properties`)).content).toBe('fee.rate=0.25\n');

  // A proposal made elsewhere shows on the open page without a reload (the configs topic of the live
  // stream), offered for approval to this person, who is not its author.
  const next = await admin.call('PUT', `${configs}/fees.properties`, { content: 'fee.rate=0.20\n', comment: 'lower again' });
  expect(next.state).toBe('proposed');
  await expect(page.getByTestId('proposal-banner')).toContainText(`r${next.number}`);
  await expect(page.getByTestId('proposal-banner')).toContainText(next.author);
  await expect(page.getByTestId('proposal-banner').getByRole('button', { name: w.approveConfig })).toBeVisible();
});
