// Signing in through the bank's OIDC provider (an in-process mockoidc that
// signs in jane.doe, of groups engineering and design, without a form):
// the login page's button, the provider's redirects, and back in the
// console with the role the group binding grants.
import { expect, scopeTo, signOut, test, world, worldYAML } from './fixtures';

test('a staff member signs in with the OIDC button and gets the role their group maps to', async ({ page, lang, w, admin }) => {
  const scene = world(lang, 'sso');
  await admin.apply(worldYAML(scene));
  await admin.call('POST', '/group-bindings', {
    name: scene.tenant, provider: 'idp', group: 'engineering', role: 'viewer', scope: { tenant: scene.tenant, project: scene.project },
  });

  await page.goto('/');
  const button = lang === 'en' ? 'Single sign-on: Bank SSO' : '使用单点登录: 行内统一认证';
  await page.getByRole('link', { name: button }).click();
  await expect(page.getByRole('menu', { name: 'navigation' })).toBeVisible();
  await expect(page.getByTestId('user-menu')).toContainText('jane.doe');

  const me = await (await page.request.get('/api/v1/whoami')).json();
  expect(me.user.name).toBe('jane.doe');
  expect(me.roles).toContainEqual({ role: 'viewer', scope: { tenant: scene.tenant, project: scene.project } });
  // The navigator reaches the project the group's binding opened.
  await scopeTo(page, { tenant: scene.tenant, project: scene.project, environment: scene.environment });

  await signOut(page, lang);
  expect((await page.request.get('/api/v1/whoami')).status()).toBe(401);
  await expect(page.getByRole('button', { name: w.signIn })).toBeVisible();
});
