// The frame of every page once signed in: navigation, the tenant → project →
// environment navigator, the language switch and the user menu.
import {
  ApartmentOutlined, AuditOutlined, BranchesOutlined, ClusterOutlined, CodeOutlined,
  FileSearchOutlined, DeploymentUnitOutlined,
  GlobalOutlined, KeyOutlined, LineChartOutlined, RocketOutlined, SettingOutlined, TeamOutlined, UserOutlined,
  ApiOutlined,
} from '@ant-design/icons';
import { Badge, Button, Dropdown, Layout, Menu, Select, Space, Typography } from 'antd';
import { Suspense, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation, useNavigate } from 'react-router';
import { api, must } from './api/client';
import { chooseLanguage, languages, type Language } from './i18n';
import { useLiveState } from './live';
import { useLoad } from './load';
import { forgetPermissions, useSession } from './session';

const { Header, Sider, Content } = Layout;

function ScopePicker() {
  const { t } = useTranslation();
  const { scope, setScope } = useSession();
  const tenants = useLoad(() => must(api.GET('/api/v1/tenants', { params: { query: { limit: '500' } } })), []);
  const projects = useLoad(
    () =>
      scope.tenant
        ? must(api.GET('/api/v1/tenants/{tenant}/projects', { params: { path: { tenant: scope.tenant }, query: { limit: '500' } } }))
        : undefined,
    [scope.tenant],
  );
  const envs = useLoad(
    () =>
      scope.tenant && scope.project
        ? must(
            api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments', {
              params: { path: { tenant: scope.tenant, project: scope.project }, query: { limit: '500' } },
            }),
          )
        : undefined,
    [scope.tenant, scope.project],
  );
  const opts = (items?: { name?: string; displayName?: string }[]) =>
    (items ?? []).map((i) => ({ value: i.name ?? '', label: i.displayName ? `${i.displayName} (${i.name})` : i.name }));
  return (
    <Space wrap>
      <Select
        aria-label={t('scope.tenant')}
        data-testid="scope-tenant"
        style={{ minWidth: 160 }}
        placeholder={`${t('scope.tenant')}: ${t('scope.pick')}`}
        value={scope.tenant}
        options={opts(tenants.data?.items)}
        onChange={(tenant: string) => setScope({ tenant })}
        onOpenChange={(open) => open && tenants.reload()}
      />
      <Select
        aria-label={t('scope.project')}
        data-testid="scope-project"
        style={{ minWidth: 160 }}
        placeholder={`${t('scope.project')}: ${t('scope.pick')}`}
        value={scope.project}
        disabled={!scope.tenant}
        options={opts(projects.data?.items)}
        onChange={(project: string) => setScope({ tenant: scope.tenant, project })}
        onOpenChange={(open) => open && projects.reload()}
      />
      <Select
        aria-label={t('scope.environment')}
        data-testid="scope-environment"
        style={{ minWidth: 140 }}
        placeholder={`${t('scope.environment')}: ${t('scope.pick')}`}
        value={scope.environment}
        disabled={!scope.project}
        options={opts(envs.data?.items)}
        onChange={(environment: string) => setScope({ ...scope, environment })}
        onOpenChange={(open) => open && envs.reload()}
      />
    </Space>
  );
}

/** Shell lays out a signed-in page. */
export function Shell({ children }: { children: ReactNode }) {
  const { t, i18n } = useTranslation();
  const { me, signOut } = useSession();
  const live = useLiveState();
  const navigate = useNavigate();
  const location = useLocation();
  const soon = (key: string, icon: ReactNode) => ({
    key,
    icon,
    disabled: true,
    label: (
      <span>
        {t(`nav.${key}`)} <Typography.Text type="secondary">· {t('nav.comingSoon')}</Typography.Text>
      </span>
    ),
  });
  const items = [
    { key: '/apps', icon: <DeploymentUnitOutlined />, label: t('nav.apps') },
    { key: '/releases', icon: <RocketOutlined />, label: t('nav.releases') },
    { key: '/gray', icon: <BranchesOutlined />, label: t('nav.gray') },
    { key: '/config', icon: <SettingOutlined />, label: t('nav.config') },
    { key: '/network', icon: <GlobalOutlined />, label: t('nav.network') },
    { key: '/audit', icon: <AuditOutlined />, label: t('nav.audit') },
    { key: '/tenancy', icon: <ApartmentOutlined />, label: t('nav.tenancy') },
    { key: '/users', icon: <TeamOutlined />, label: t('nav.users') },
    { key: '/tokens', icon: <KeyOutlined />, label: t('nav.tokens') },
    { key: '/clusters', icon: <ClusterOutlined />, label: t('nav.clusters') },
    { key: '/terminal', icon: <CodeOutlined />, label: t('nav.terminal') },
    { key: '/logs', icon: <FileSearchOutlined />, label: t('nav.logs') },
    soon('pipelines', <ApiOutlined />),
    soon('monitoring', <LineChartOutlined />),
  ];
  const selected = '/' + (location.pathname.split('/')[1] ?? '');
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Sider width={208} breakpoint="lg" collapsedWidth={56} theme="light">
        <div style={{ padding: '16px 20px', fontWeight: 600, fontSize: 18 }}>{t('app.short')}</div>
        <Menu
          mode="inline"
          selectedKeys={[selected]}
          items={items}
          onClick={(e) => navigate(e.key)}
          aria-label="navigation"
        />
      </Sider>
      <Layout>
        <Header
          style={{ background: '#fff', padding: '0 16px', display: 'flex', alignItems: 'center', gap: 16, flexWrap: 'wrap', height: 'auto', minHeight: 64 }}
        >
          <ScopePicker />
          <div style={{ flex: 1 }} />
          <Badge status={live === 'live' ? 'success' : 'default'} text={live === 'live' ? t('common.live') : t('common.paused')} />
          <Select
            aria-label={t('login.language')}
            data-testid="language"
            size="small"
            value={i18n.language as Language}
            options={languages.map((l) => ({ value: l, label: l === 'en' ? 'English' : '简体中文' }))}
            onChange={(l: Language) => void chooseLanguage(l, me?.user?.name)}
          />
          <Dropdown
            menu={{
              items: [{ key: 'logout', label: t('login.logout') }],
              onClick: async () => {
                forgetPermissions();
                await signOut();
                navigate('/');
              },
            }}
          >
            <Button icon={<UserOutlined />} data-testid="user-menu">
              {me?.user?.displayName || me?.user?.name}
            </Button>
          </Dropdown>
        </Header>
        <Content style={{ padding: 16, minWidth: 0 }}>
          <Suspense fallback={<div>{t('common.loading')}</div>}>{children}</Suspense>
        </Content>
      </Layout>
    </Layout>
  );
}
