// The guarded terminal from the console: a log-only viewer runs a command
// its policy allows and sees the output and exit code, is refused a command
// list with the policy's reason, does the same in an interactive xterm.js
// terminal, and an admin replays the recording of the allowed session in
// asciinema-player, seeing the command's output.
import { adminPassword, appYAML, choose, expect, scopeTo, shot, signIn, signOut, test, world, worldYAML } from './fixtures';

const words = {
  'zh-CN': {
    terminal: '终端', line: '命令行', run: '执行', exit0: '退出码 0', refused: '终端策略拒绝执行', list: '不允许命令列表（;）',
    command: '不允许执行该命令', replay: '回放', serverRefused: '终端策略拒绝执行', openTerminal: '打开终端', close: '关闭',
  },
  en: {
    terminal: 'Terminal', line: 'Command line', run: 'Run', exit0: 'Exit code 0', refused: 'Refused by your terminal policy',
    list: 'command lists (;) are not allowed', replay: 'Replay',
    command: 'this command is not allowed', serverRefused: 'refused by your terminal policy', openTerminal: 'Open terminal', close: 'Close',
  },
} as const;

test('a log-only viewer runs a command, is refused another, and the admin replays the session', async ({ page, lang, admin }) => {
  const logs = process.env.BERTH_TERMINAL_LOGS ?? '';
  expect(logs, 'BERTH_TERMINAL_LOGS names the directory of the log the pods see').not.toBe('');
  const tw = words[lang];
  const wd = world(lang, 'term');
  // One policy for both languages' runs (they apply the same, unchanged).
  await admin.apply(
    worldYAML(wd) +
      appYAML(wd, 'pay-api', 'v1') +
      `---\napiVersion: berth.dev/v1\nkind: TerminalPolicy\nmetadata: {name: console-log-only}\n` +
      `spec: {role: viewer, mode: restricted, commands: [tail, head, grep, wc], paths: ["${logs}/**"]}\n`,
  );
  await admin.call('PUT', `/tenants/${wd.tenant}/projects/pay/environments/dev/deployments/pay-api`, { version: 'v1' });
  const viewer = `viewer-${wd.tenant}`;
  await admin.user(viewer, 'viewer-password-1');
  await admin.call('POST', `/tenants/${wd.tenant}/members`, { user: viewer, role: 'viewer' });

  await signIn(page, lang, viewer, 'viewer-password-1');
  await scopeTo(page, wd);
  // A terminal needs a running pod.
  await expect(page.getByRole('row', { name: /pay-api/ }).locator('[data-state="Running"]')).toBeVisible({ timeout: 90_000 });
  await page.getByRole('menu', { name: 'navigation' }).getByText(tw.terminal, { exact: true }).click();

  // Allowed: the last 20 lines hold ERROR lines 20, 25, 30 and 35.
  await choose(page, page.getByTestId('terminal-app').getByRole('combobox'), 'pay-api');
  await page.getByLabel(tw.line).fill(`tail -n 20 ${logs}/app.log | grep ERROR`);
  await page.getByRole('button', { name: tw.run, exact: true }).click();
  const output = page.getByTestId('exec-output');
  await expect(output).toContainText('ERROR request 35', { timeout: 30_000 });
  await expect(output).toContainText('ERROR request 20');
  await expect(output).not.toContainText('ERROR request 15');
  await expect(output).not.toContainText('INFO');
  await expect(page.getByTestId('exit-code')).toHaveText(tw.exit0);
  await shot(page, lang, 'terminal');

  // Refused: a command list, with the policy's reason in the user's language.
  await page.getByLabel(tw.line).fill(`tail -n 5 ${logs}/app.log; whoami`);
  await page.getByRole('button', { name: tw.run, exact: true }).click();
  const refusal = page.getByTestId('refusal');
  await expect(refusal).toContainText(tw.refused);
  await expect(refusal).toContainText(tw.list);
  // What the terminal showed, in the server's words.
  await expect(output).toContainText(tw.serverRefused);
  await expect(output).not.toContainText('ERROR request 35');

  // An interactive restricted terminal: a line typed in xterm.js, its output
  // in the terminal, and a refused one with the reason.
  await page.getByRole('button', { name: tw.openTerminal }).click();
  const live = page.getByTestId('live-terminal');
  await expect(live).toContainText('$');
  await live.click();
  await page.keyboard.type(`head -n 3 ${logs}/app.log`);
  await page.keyboard.press('Enter');
  await expect(live).toContainText('INFO request 2');
  await expect(live).not.toContainText('INFO request 3');
  await page.keyboard.type('whoami');
  await page.keyboard.press('Enter');
  await expect(live).toContainText(tw.command);
  await shot(page, lang, 'terminal-live');
  await page.getByRole('button', { name: tw.close, exact: true }).click();

  // The admin replays the first session (the oldest of the viewer's three).
  await signOut(page, lang);
  await signIn(page, lang, 'admin', adminPassword);
  await scopeTo(page, { tenant: wd.tenant });
  await page.getByRole('menu', { name: 'navigation' }).getByText(tw.terminal, { exact: true }).click();
  const rows = page.getByRole('row', { name: new RegExp(viewer) });
  await expect(rows).toHaveCount(3);
  await rows.last().getByRole('button', { name: tw.replay }).click();
  const player = page.getByTestId('replay-player');
  await expect(player).toContainText('ERROR request 35', { timeout: 20_000 });
  await expect(player).toContainText('ERROR request 20');
  await shot(page, lang, 'terminal-replay');
});
