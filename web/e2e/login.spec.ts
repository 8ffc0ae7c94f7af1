// Signing in and out, in the language of the run, with the error a wrong
// password gets and the language remembered per user.
import { expect, signIn, signOut, test, words, adminPassword } from './fixtures';

test('a wrong password is refused with a translated message; the right one opens the console', async ({ page, lang, w }) => {
  await page.goto('/');
  await expect(page.getByRole('button', { name: w.signIn })).toBeVisible();
  await page.getByLabel(w.username).fill('admin');
  await page.getByLabel(w.password).fill('not-the-password');
  await page.getByRole('button', { name: w.signIn }).click();
  await expect(page.getByRole('alert')).toContainText(w.badLogin);

  await signIn(page, lang, 'admin', adminPassword);
  const nav = page.getByRole('menu', { name: 'navigation' });
  for (const item of [w.apps, w.releases, w.gray, w.network, w.audit, w.tenancy]) {
    await expect(nav.getByText(item, { exact: true })).toBeVisible();
  }
  // Session cookies: HttpOnly session, readable CSRF token, both SameSite.
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === 'berth_session')?.httpOnly).toBe(true);
  expect(cookies.find((c) => c.name === 'berth_csrf')?.value).toBeTruthy();

  await signOut(page, lang);
  // The session is gone on the server too: the API answers 401.
  expect((await page.request.get('/api/v1/whoami')).status()).toBe(401);
});

test('the language switch changes the console and is remembered for the user', async ({ page, lang, admin }) => {
  const user = `lang-${lang === 'en' ? 'en' : 'zh'}-${Date.now() % 100000}`;
  await admin.user(user, 'language-password-1');
  await signIn(page, lang, user, 'language-password-1');
  const other = lang === 'en' ? 'zh-CN' : 'en';
  await page.getByTestId('language').click();
  await page.locator('.ant-select-dropdown:visible').getByText(other === 'en' ? 'English' : '简体中文').click();
  await expect(page.getByRole('menu', { name: 'navigation' }).getByText(words[other].apps, { exact: true })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', other);

  // Another user signs in on this browser in the run's language: after
  // signing out and in again, the first user gets the language they chose.
  await signOut(page, other);
  await page.evaluate((l) => localStorage.setItem('berth.lang', l), lang);
  await page.reload();
  await signIn(page, lang, user, 'language-password-1');
  await expect(page.getByRole('menu', { name: 'navigation' }).getByText(words[other].apps, { exact: true })).toBeVisible();
});
