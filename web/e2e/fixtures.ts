// What every journey shares: the language of the run (one Playwright project
// per language), a world of its own on the shared server (names suffixed by
// the language), the admin's API for setting the scene, and signing in
// through the console. Expected texts are written here, not taken from the
// console's message files, so a wrong translation fails.
import { expect, test as base, type APIRequestContext, type Locator, type Page } from '@playwright/test';

export type Lang = 'zh-CN' | 'en';

/** Words the journeys look for, as a user reads them. */
export const words = {
  'zh-CN': {
    signIn: '登录', username: '用户名', password: '密码', apps: '应用', releases: '发布单', gray: '灰度发布',
    network: '网络资产', audit: '审计', tenancy: '租户与项目', deploy: '部署', running: '运行中', newApp: '新建应用',
    newTenant: '新建租户', newProject: '新建项目', newEnvironment: '新建环境', name: '名称', cluster: '集群',
    namespace: '命名空间', image: '镜像', tier: '资源规格', version: '版本', application: '应用', create: '新建发布单', titleField: '标题',
    ticket: '变更单号', submit: '提交审批', approve: '审批通过', start: '开始发布', rolledBack: '已回滚',
    pendingApproval: '待审批', approved: '已审批', succeeded: '成功', widen: '扩大到下一步', promote: '全量发布',
    promoted: '已全量', verify: '校验审计链', chainOk: '审计链完整', noPermission: '您没有权限', badLogin: '用户名或密码错误',
    ok: '确定', scale: '扩缩容', replicas: '副本数', startGray: '开始灰度', grayVersion: '灰度版本', tellers: '柜员',
    branches: '网点', ports: '端口池', free: '空闲', logout: '退出登录', approvalsNone: '审批人: 无',
    config: '配置中心', newItem: '新建配置', dataId: 'Data ID', content: '配置内容', comment: '变更说明', publish: '发布',
    newRevision: '发布新版本', publishGray: '灰度发布', history: '历史版本', compare: '版本对比', unified: '合并视图',
    promoteAll: '全量发布', rollbackTo: '回滚', restores: '恢复自', cohortApp: '应用 1', cohortVersion: '版本 1',
    cancel: '取消', approveConfig: '审批通过', ownProposal: '须由他人审批',
  },
  en: {
    signIn: 'Sign in', username: 'User name', password: 'Password', apps: 'Applications', releases: 'Release orders',
    gray: 'Gray release', network: 'Network assets', audit: 'Audit', tenancy: 'Tenants & projects', deploy: 'Deploy',
    running: 'Running', newApp: 'New application', newTenant: 'New tenant', newProject: 'New project',
    newEnvironment: 'New environment', name: 'Name', cluster: 'Cluster', namespace: 'Namespace', image: 'Image', tier: 'Resource tier',
    version: 'Version', application: 'Application', create: 'New release order', titleField: 'Title',
    ticket: 'Change ticket', submit: 'Submit for approval', approve: 'Approve', start: 'Start', rolledBack: 'Rolled back',
    pendingApproval: 'Pending approval', approved: 'Approved', succeeded: 'Succeeded', widen: 'Widen to next step',
    promote: 'Promote', promoted: 'Promoted', verify: 'Verify the chain', chainOk: 'Chain intact',
    noPermission: 'You lack the permission', badLogin: 'Wrong username or password', ok: 'OK', scale: 'Scale',
    replicas: 'Replicas', startGray: 'Start gray release', grayVersion: 'Gray version', tellers: 'Tellers',
    branches: 'Branches', ports: 'Port pools', free: 'Free', logout: 'Sign out', approvalsNone: 'Approved by: None',
    config: 'Config center', newItem: 'New config item', dataId: 'Data ID', content: 'Content', comment: 'Comment', publish: 'Publish',
    newRevision: 'Publish new revision', publishGray: 'Publish to gray', history: 'History', compare: 'Compare', unified: 'Unified',
    promoteAll: 'Promote to everyone', rollbackTo: 'Roll back', restores: 'restores', cohortApp: 'Application 1',
    cohortVersion: 'Version 1', cancel: 'Cancel', approveConfig: 'Approve', ownProposal: 'another person must approve it',
  },
} as const;

export const adminPassword = process.env.BERTH_ADMIN_PASSWORD ?? 'change-me-now';
/** prefix starts every namespace the journeys create, so the runner can remove them. */
export const nsPrefix = process.env.BERTH_NS_PREFIX ?? 'console';

/** Admin is the platform admin's API, for setting the scene quickly. */
export class Admin {
  constructor(private request: APIRequestContext, private token: string) {}

  static async login(request: APIRequestContext) {
    const r = await request.post('/api/v1/login', { data: { username: 'admin', password: adminPassword, token: { name: 'journey', ttl: '1h' } } });
    expect(r.status(), await r.text()).toBe(200);
    return new Admin(request, (await r.json()).token);
  }

  async call(method: string, path: string, data?: unknown, want = [200, 201, 204]) {
    const r = await this.request.fetch(`/api/v1${path}`, { method, data, headers: { Authorization: `Bearer ${this.token}` } });
    expect(want, `${method} ${path}: ${r.status()} ${await r.text()}`).toContain(r.status());
    return r.status() === 204 ? undefined : r.json();
  }

  async apply(yaml: string) {
    const r = await this.request.post('/api/v1/apply', { data: yaml, headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/yaml' } });
    expect(r.status(), await r.text()).toBe(200);
  }

  async user(name: string, password: string) {
    await this.call('POST', '/users', { name, password }, [201, 409]);
  }
}

/** A world: tenant, project, environment (on cluster local) with unique names. */
export function world(lang: Lang, what: string) {
  const sfx = lang === 'en' ? 'en' : 'zh';
  const stamp = (Date.now() % 1_000_000).toString(36);
  return { tenant: `${what}-${sfx}-${stamp}`, project: 'pay', environment: 'dev', namespace: `${nsPrefix}-${what}-${sfx}-${stamp}` };
}

/** worldYAML declares a world and its tier; apps follow as extra documents. */
export function worldYAML(w: ReturnType<typeof world>, approvals = 0) {
  return `apiVersion: berth.dev/v1
kind: ResourceTier
metadata: {name: small}
spec: {requests: {cpu: 100m, memory: 128Mi}, capacity: "~300 TPS"}
---
apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: ${w.tenant}}
spec: {displayName: ${w.tenant}}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: ${w.project}, tenant: ${w.tenant}}
---
apiVersion: berth.dev/v1
kind: Environment
metadata: {name: ${w.environment}, tenant: ${w.tenant}, project: ${w.project}}
spec: {cluster: local, namespace: ${w.namespace}, requiredApprovals: ${approvals}}
`;
}

/** appYAML is a version of an application, misbehaving as simulate says. */
export function appYAML(w: ReturnType<typeof world>, app: string, version: string, simulate = '') {
  const labels = simulate ? `, podLabels: {berth.dev/simulate: ${simulate}}` : '';
  return `---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: ${app}, tenant: ${w.tenant}, project: ${w.project}}
spec: {version: {name: ${version}, image: registry.local/${app}:${version}, tier: small, orchestration: {replicas: 1, ports: [{name: http, containerPort: 8080}]${labels}}}}
`;
}

export const test = base.extend<{ lang: Lang; w: (typeof words)[Lang]; admin: Admin }>({
  lang: async ({}, use, info) => use(info.project.name === 'en' ? 'en' : 'zh-CN'),
  w: async ({ lang }, use) => use(words[lang]),
  admin: async ({ request }, use) => use(await Admin.login(request)),
  page: async ({ page, lang }, use) => {
    await page.addInitScript((l) => {
      if (!localStorage.getItem('berth.lang')) localStorage.setItem('berth.lang', l);
    }, lang);
    await use(page);
  },
});
export { expect };

/** signIn signs user in through the console's login page. */
export async function signIn(page: Page, lang: Lang, user: string, password: string) {
  const w = words[lang];
  await page.goto('/');
  await page.getByLabel(w.username).fill(user);
  await page.getByLabel(w.password).fill(password);
  await page.getByRole('button', { name: w.signIn }).click();
  await expect(page.getByRole('menu', { name: 'navigation' })).toBeVisible();
}

/** signOut signs out through the user menu. */
export async function signOut(page: Page, lang: Lang) {
  await page.getByTestId('user-menu').hover();
  await page.getByText(words[lang].logout).click();
  await expect(page.getByRole('button', { name: words[lang].signIn })).toBeVisible();
}

/**
 * choose picks the option text in the select (or tree select) field the way a
 * keyboard user does: focus, type to find, wait until the open popup offers
 * it (options may still be loading), Enter. Popups of earlier selects stay in
 * the page, hidden, so only the visible popup is looked at.
 */
export async function choose(page: Page, field: Locator, text: string, multiple = false) {
  await field.click();
  await field.pressSequentially(text);
  await expect(page.locator('.ant-select-dropdown:visible', { hasText: text })).toHaveCount(1);
  await page.keyboard.press('Enter');
  // A multiple select stays open for more; Escape closes its popup only.
  if (multiple) await page.keyboard.press('Escape');
}

/** scopeTo picks tenant, project and environment in the header navigator. */
export async function scopeTo(page: Page, s: { tenant: string; project?: string; environment?: string }) {
  const field = (testid: string) => page.getByTestId(testid).getByRole('combobox');
  await choose(page, field('scope-tenant'), s.tenant);
  await expect(page.getByTestId('scope-tenant')).toContainText(s.tenant);
  if (s.project) {
    await choose(page, field('scope-project'), s.project);
    await expect(page.getByTestId('scope-project')).toContainText(s.project);
  }
  if (s.environment) {
    await choose(page, field('scope-environment'), s.environment);
    await expect(page.getByTestId('scope-environment')).toContainText(s.environment);
  }
}

/** shot saves a screenshot of the page for docs/console when BERTH_SCREENSHOTS names a folder. */
export async function shot(page: Page, lang: Lang, name: string) {
  const dir = process.env.BERTH_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.${lang}.png`, fullPage: false });
}
