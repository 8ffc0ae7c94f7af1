// One application: its versions (image, digest, source, orchestration, tier,
// pipeline) and, in the chosen environment, its pods and recent events, live.
import { Button, Card, Descriptions, Empty, Space, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert } from '../components/errors';
import { PhaseTag } from '../components/phase';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import { DeployDialog, type EnvPath } from './Apps';

type Pod = NonNullable<NonNullable<Schemas['DeploymentView']['status']>['pods']>[number];
type Event = NonNullable<Schemas['DeploymentView']['events']>[number];

/** AppDetail shows one application. */
export default function AppDetail() {
  const { t } = useTranslation();
  const { app = '' } = useParams();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant, scope.project);
  const [deploying, setDeploying] = useState(false);
  const proj = scope.tenant && scope.project ? { tenant: scope.tenant, project: scope.project, app } : undefined;
  const env = proj && scope.environment ? ({ ...scope } as EnvPath) : undefined;
  const application = useLoad(
    () => (proj ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications/{app}', { params: { path: proj } })) : undefined),
    [proj?.tenant, proj?.project, app],
  );
  const versions = useLoad(
    () => (proj ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications/{app}/versions', { params: { path: proj, query: { limit: '500' } } })) : undefined),
    [proj?.tenant, proj?.project, app],
  );
  const deployment = useLoad(
    () =>
      env
        ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}', { params: { path: { ...env, app } } })).catch(
            (e: { status?: number }) => (e.status === 404 ? undefined : Promise.reject(e)),
          )
        : undefined,
    [env?.tenant, env?.project, env?.environment, app],
  );
  useLive('deployments', (e) => e.name === app && e.tenant === env?.tenant && e.project === env?.project && e.environment === env?.environment, deployment.reload);
  if (!proj) return <Empty description={t('common.chooseProject')} />;
  const d = deployment.data;
  const a = application.data;
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {a?.displayName ? `${a.displayName} (${app})` : app}
        </Typography.Title>
        {env && (
          <Guarded perms={perms} perm="deployment:deploy" type="primary" onClick={() => setDeploying(true)}>
            {t('apps.deploy')}
          </Guarded>
        )}
      </Space>
      <ErrorAlert error={application.error ?? deployment.error} />
      {env && (
        <Card title={`${t('scope.environment')} ${env.environment}`} size="small" extra={<Button size="small" onClick={deployment.reload}>{t('common.refresh')}</Button>}>
          {d ? (
            <>
              <Descriptions size="small" column={{ xs: 1, md: 3 }}>
                <Descriptions.Item label={t('common.status')}>
                  <PhaseTag prefix="apps.phase" state={d.deleting ? 'Deleting' : d.status?.phase} /> {d.status?.reason} {d.status?.message}
                </Descriptions.Item>
                <Descriptions.Item label={t('apps.version')}>{d.version}</Descriptions.Item>
                <Descriptions.Item label={t('apps.ready')}>{`${d.status?.ready ?? 0}/${d.status?.desired ?? d.replicas ?? 0}`}</Descriptions.Item>
                <Descriptions.Item label={t('apps.external')}>{d.externalAddress || '—'}</Descriptions.Item>
                <Descriptions.Item label={t('apps.internal')}>{d.internalAddress || '—'}</Descriptions.Item>
                <Descriptions.Item label={t('common.createdBy')}>{d.createdBy}</Descriptions.Item>
              </Descriptions>
              <Typography.Title level={5}>{t('apps.pods')}</Typography.Title>
              <Table<Pod>
                size="small"
                rowKey="name"
                pagination={false}
                scroll={{ x: 'max-content' }}
                dataSource={d.status?.pods ?? []}
                columns={[
                  { title: t('common.name'), dataIndex: 'name' },
                  { title: t('apps.version'), dataIndex: 'version' },
                  { title: t('common.status'), key: 'phase', render: (_, p) => <>{p.ready ? <Tag color="success">Ready</Tag> : <Tag>{p.phase}</Tag>} {p.reason}</> },
                  { title: t('apps.node'), dataIndex: 'node' },
                  { title: t('apps.zone'), dataIndex: 'zone' },
                  { title: t('apps.ip'), dataIndex: 'ip' },
                  { title: t('apps.restarts'), dataIndex: 'restarts' },
                ]}
              />
              <Typography.Title level={5}>{t('apps.events')}</Typography.Title>
              <Table<Event>
                size="small"
                rowKey={(e) => `${e.object}-${e.reason}-${e.last}`}
                pagination={false}
                dataSource={d.events ?? []}
                columns={[
                  { title: t('audit.time'), dataIndex: 'last', render: (s?: string) => (s ? dayjs(s).format('HH:mm:ss') : '') },
                  { title: 'type', dataIndex: 'type' },
                  { title: t('common.reason'), dataIndex: 'reason' },
                  { title: 'object', dataIndex: 'object' },
                  { title: 'message', dataIndex: 'message' },
                  { title: '×', dataIndex: 'count' },
                ]}
              />
            </>
          ) : (
            <Empty description={t('apps.notDeployed')} />
          )}
        </Card>
      )}
      <Card title={t('apps.versions')} size="small">
        <Table<Schemas['Version']>
          size="small"
          rowKey="name"
          pagination={false}
          scroll={{ x: 'max-content' }}
          dataSource={versions.data?.items ?? []}
          columns={[
            { title: t('common.name'), dataIndex: 'name', render: (v: string) => (v === a?.currentVersion ? <b>{v}</b> : v) },
            { title: t('apps.image'), dataIndex: 'image' },
            { title: t('apps.digest'), dataIndex: 'digest', render: (s?: string) => (s ? <code>{s.slice(0, 19)}…</code> : '—') },
            { title: t('apps.source'), key: 'source', render: (_, v) => (v.source?.repository ? `${v.source.repository}@${v.source.revision ?? ''}` : '—') },
            { title: t('apps.tier'), dataIndex: 'tier' },
            { title: t('apps.replicas'), key: 'replicas', render: (_, v) => v.orchestration?.replicas },
            { title: t('apps.port'), key: 'ports', render: (_, v) => (v.orchestration?.ports ?? []).map((p) => `${p.name}:${p.containerPort}`).join(', ') },
            { title: t('apps.pipeline'), dataIndex: 'pipeline', render: (s?: string) => s || '—' },
            { title: t('common.createdAt'), dataIndex: 'createdAt', render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm') : '') },
          ]}
        />
      </Card>
      {env && <DeployDialog env={env} app={app} open={deploying} onClose={() => { setDeploying(false); deployment.reload(); }} />}
    </Space>
  );
}
