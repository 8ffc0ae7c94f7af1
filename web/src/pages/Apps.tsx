// Applications of an environment: the seed's table (name, version, status,
// ready, addresses, created) kept live, with deploy and day-two operations.
import { App, Button, Empty, Form, Input, InputNumber, Modal, Select, Space, Table, Typography } from 'antd';
import dayjs from 'dayjs';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { PhaseTag } from '../components/phase';
import { ApplyManifest } from '../components/ApplyManifest';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';

type Deployment = Schemas['DeploymentView'];

/** EnvPath is the path parameters of an environment. */
export interface EnvPath {
  tenant: string;
  project: string;
  environment: string;
}

/**
 * listDeployments lists the deployments of env. The route may also answer
 * with an event stream (?watch), so its generated type is a union: the JSON
 * page is what a plain GET returns.
 */
export function listDeployments(env: EnvPath) {
  return must(
    api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments', { params: { path: env, query: { limit: '500' } } }),
  ) as Promise<{ items: Deployment[] }>;
}

/** deploymentOps calls the day-two operations of one deployment. */
export function deploymentOps(env: EnvPath, app: string) {
  const path = { ...env, app };
  const base = '/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}' as const;
  return {
    deploy: (version: string) => must(api.PUT(base, { params: { path }, body: { version } })),
    scale: (replicas: number) => must(api.POST(`${base}/scale`, { params: { path }, body: { replicas } })),
    stop: () => must(api.POST(`${base}/stop`, { params: { path } })),
    start: () => must(api.POST(`${base}/start`, { params: { path } })),
    restart: () => must(api.POST(`${base}/restart`, { params: { path } })),
    undeploy: () => must(api.DELETE(base, { params: { path } })),
  };
}

/** DeployDialog deploys a version of an application into env. */
export function DeployDialog({ env, app, open, onClose }: { env: EnvPath; app?: string; open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const chosen = Form.useWatch('app', form) ?? app;
  const apps = useLoad(
    () => (open ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications', { params: { path: env, query: { limit: '500' } } })) : undefined),
    [open, env.tenant, env.project],
  );
  const versions = useLoad(
    () =>
      open && chosen
        ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications/{app}/versions', { params: { path: { ...env, app: chosen }, query: { limit: '500' } } }))
        : undefined,
    [open, chosen],
  );
  const submit = async (v: { app: string; version: string }) => {
    setError(undefined);
    try {
      await deploymentOps(env, v.app ?? app).deploy(v.version);
      onClose();
    } catch (e) {
      setError(showFieldErrors(form, e, ['version']));
    }
  };
  return (
    <Modal open={open} title={t('apps.deploy')} onCancel={onClose} onOk={() => form.submit()} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ app }}>
        <Form.Item name="app" label={t('apps.application')} rules={[{ required: true }]}>
          <Select disabled={!!app} options={(apps.data?.items ?? []).map((a) => ({ value: a.name, label: a.name }))} />
        </Form.Item>
        <Form.Item name="version" label={t('apps.version')} rules={[{ required: true }]}>
          <Select options={(versions.data?.items ?? []).map((v) => ({ value: v.name, label: `${v.name} · ${v.image}` }))} />
        </Form.Item>
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

function ScaleDialog({ env, d, onClose }: { env: EnvPath; d?: Deployment; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  return (
    <Modal open={!!d} title={`${t('apps.scale')} ${d?.application ?? ''}`} onCancel={onClose} onOk={() => form.submit()} destroyOnHidden>
      <Form
        form={form}
        layout="vertical"
        initialValues={{ replicas: d?.replicas }}
        onFinish={async (v: { replicas: number }) => {
          try {
            await deploymentOps(env, d!.application!).scale(v.replicas);
            onClose();
          } catch (e) {
            setError(showFieldErrors(form, e, ['replicas']));
          }
        }}
      >
        <Form.Item name="replicas" label={t('apps.replicas')} rules={[{ required: true }]}>
          <InputNumber min={0} />
        </Form.Item>
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

/** NewApp creates an application with its first version. */
function NewApp({ project, open, onClose }: { project: { tenant: string; project: string }; open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const tiers = useLoad(() => (open ? must(api.GET('/api/v1/tiers', { params: { query: { limit: '500' } } })) : undefined), [open]);
  const submit = async (v: { name: string; displayName?: string; version: string; image: string; tier?: string; replicas?: number; port?: number }) => {
    setError(undefined);
    const path = { ...project, app: v.name };
    try {
      await must(api.POST('/api/v1/tenants/{tenant}/projects/{project}/applications', { params: { path: project }, body: { name: v.name, displayName: v.displayName } }));
    } catch (e) {
      // 409: created by the previous attempt, whose version was refused.
      if ((e as { status?: number }).status !== 409) {
        setError(showFieldErrors(form, e, ['name', 'displayName']));
        return;
      }
    }
    try {
      await must(
        api.POST('/api/v1/tenants/{tenant}/projects/{project}/applications/{app}/versions', {
          params: { path },
          body: {
            name: v.version,
            image: v.image,
            tier: v.tier,
            orchestration: { replicas: v.replicas ?? 1, ports: v.port ? [{ name: 'http', containerPort: v.port }] : undefined },
          } as Schemas['Version'],
        }),
      );
      onClose();
    } catch (e) {
      // The application exists now: what is left is its version, whose
      // fields the server named (orchestration.replicas → replicas).
      const err = e as { fields?: { path?: string }[] };
      err.fields?.forEach((f) => (f.path = f.path?.replace(/^orchestration\.ports.*/, 'port').replace(/^orchestration\./, '').replace(/^name$/, 'version')));
      setError(showFieldErrors(form, e, ['version', 'image', 'tier', 'replicas', 'port']));
    }
  };
  return (
    <Modal open={open} title={t('apps.newApp')} onCancel={onClose} onOk={() => form.submit()} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ version: 'v1', replicas: 1, port: 8080 }}>
        <Form.Item name="name" label={t('common.name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="displayName" label={t('common.displayName')}>
          <Input />
        </Form.Item>
        <Space wrap>
          <Form.Item name="version" label={t('apps.version')} rules={[{ required: true }]}>
            <Input style={{ width: 100 }} />
          </Form.Item>
          <Form.Item name="image" label={t('apps.image')} rules={[{ required: true }]}>
            <Input style={{ width: 300 }} placeholder="registry.local/app:1.0" />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name="tier" label={t('apps.tier')} rules={[{ required: true }]}>
            <Select style={{ width: 160 }} allowClear options={(tiers.data?.items ?? []).map((x) => ({ value: x.name, label: `${x.name} ${x.capacity ?? ''}` }))} />
          </Form.Item>
          <Form.Item name="replicas" label={t('apps.replicas')}>
            <InputNumber min={0} />
          </Form.Item>
          <Form.Item name="port" label={t('apps.port')}>
            <InputNumber min={1} max={65535} />
          </Form.Item>
        </Space>
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

/** Apps lists the deployments of the chosen environment. */
export default function Apps() {
  const { t } = useTranslation();
  const { modal, message } = App.useApp();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant, scope.project);
  const [filter, setFilter] = useState('');
  const [deploying, setDeploying] = useState(false);
  const [scaling, setScaling] = useState<Deployment>();
  const [applying, setApplying] = useState(false);
  const [creating, setCreating] = useState(false);
  const env = scope.tenant && scope.project && scope.environment ? (scope as EnvPath) : undefined;
  const list = useLoad(
    () =>
      env
        ? listDeployments(env)
        : undefined,
    [env?.tenant, env?.project, env?.environment],
  );
  useLive('deployments', (e) => e.tenant === env?.tenant && e.project === env?.project && e.environment === env?.environment, list.reload);
  const rows = useMemo(() => (list.data?.items ?? []).filter((d) => (d.application ?? '').includes(filter)), [list.data, filter]);

  if (!env) return <Empty description={t('common.chooseEnvironment')} />;
  const act = (d: Deployment, op: 'stop' | 'start' | 'restart' | 'undeploy') => {
    const run = async () => {
      try {
        await deploymentOps(env, d.application!)[op]();
        list.reload();
      } catch (e) {
        message.error((e as Error).message);
      }
    };
    if (op === 'start') return void run();
    const text = { stop: 'apps.confirmStop', restart: 'apps.confirmRestart', undeploy: 'apps.confirmUndeploy' }[op];
    modal.confirm({ title: t('common.confirm'), content: t(text, { app: d.application }), onOk: run, okButtonProps: { danger: op === 'undeploy' } });
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space wrap style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('apps.title')} · {env.environment}
        </Typography.Title>
        <Space wrap>
          <Input.Search allowClear placeholder={t('apps.filter')} aria-label={t('apps.filter')} onChange={(e) => setFilter(e.target.value)} style={{ width: 200 }} />
          <Button onClick={() => setApplying(true)}>YAML</Button>
          <Guarded perms={perms} perm="application:create" onClick={() => setCreating(true)}>
            {t('apps.newApp')}
          </Guarded>
          <Guarded perms={perms} perm="deployment:deploy" type="primary" onClick={() => setDeploying(true)}>
            {t('apps.deploy')}
          </Guarded>
        </Space>
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Deployment>
        rowKey="application"
        size="middle"
        loading={list.loading && !list.data}
        dataSource={rows}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 'max-content' }}
        columns={[
          { title: t('common.name'), dataIndex: 'application', render: (a: string) => <Link to={`/apps/${a}`}>{a}</Link>, sorter: (a, b) => (a.application ?? '').localeCompare(b.application ?? '') },
          { title: t('apps.version'), dataIndex: 'version' },
          {
            title: t('common.status'),
            key: 'status',
            render: (_, d) => <PhaseTag prefix="apps.phase" state={d.deleting ? 'Deleting' : d.status?.phase} />,
            filters: ['Running', 'Progressing', 'Degraded', 'Failed', 'Stopped', 'Unknown'].map((p) => ({ text: t(`apps.phase.${p}`), value: p })),
            onFilter: (v, d) => d.status?.phase === v,
          },
          { title: t('apps.ready'), key: 'ready', render: (_, d) => `${d.status?.ready ?? 0}/${d.status?.desired ?? d.replicas ?? 0}` },
          { title: t('apps.external'), dataIndex: 'externalAddress', render: (s?: string) => s || '—' },
          { title: t('apps.internal'), dataIndex: 'internalAddress', render: (s?: string) => s || '—' },
          { title: t('common.createdAt'), dataIndex: 'createdAt', render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm') : '') },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_, d) => (
              <Space size={4} wrap>
                <Guarded perms={perms} perm="deployment:operate" size="small" onClick={() => setScaling(d)}>
                  {t('apps.scale')}
                </Guarded>
                {d.stopped ? (
                  <Guarded perms={perms} perm="deployment:operate" size="small" onClick={() => act(d, 'start')}>
                    {t('apps.start')}
                  </Guarded>
                ) : (
                  <Guarded perms={perms} perm="deployment:operate" size="small" onClick={() => act(d, 'stop')}>
                    {t('apps.stop')}
                  </Guarded>
                )}
                <Guarded perms={perms} perm="deployment:operate" size="small" onClick={() => act(d, 'restart')}>
                  {t('apps.restart')}
                </Guarded>
                <Guarded perms={perms} perm="deployment:delete" size="small" danger onClick={() => act(d, 'undeploy')}>
                  {t('apps.undeploy')}
                </Guarded>
              </Space>
            ),
          },
        ]}
      />
      <DeployDialog env={env} open={deploying} onClose={() => { setDeploying(false); list.reload(); }} />
      <ScaleDialog env={env} d={scaling} onClose={() => { setScaling(undefined); list.reload(); }} />
      <NewApp project={env} open={creating} onClose={() => setCreating(false)} />
      <ApplyManifest open={applying} onClose={() => { setApplying(false); list.reload(); }} />
    </Space>
  );
}
