// Network assets: port pools as compact ranges (ports / allotted / used /
// free, and who holds them), exposing an application port, bandwidth
// quotas and the isolation level with its allow rules.
import { Card, Descriptions, Empty, Form, Input, InputNumber, Modal, Select, Space, Table, Tag, Typography, App } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import { listDeployments } from './Apps';

type PortView = Schemas['PortView'];
type Allocation = Schemas['Allocation'];

const bps = (n?: number) => (n ? (n >= 1e9 ? `${n / 1e9} Gbit/s` : n >= 1e6 ? `${n / 1e6} Mbit/s` : `${n} bit/s`) : '∞');

function Expose({ open, onClose, env }: { open: boolean; onClose: () => void; env?: { tenant: string; project: string; environment: string } }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const deployments = useLoad(
    () => (open && env ? listDeployments(env) : undefined),
    [open, env?.environment],
  );
  if (!env) return null;
  return (
    <Modal open={open} title={t('network.expose')} onCancel={onClose} onOk={() => form.submit()} destroyOnHidden>
      <Form
        form={form}
        layout="vertical"
        onFinish={async (v: { app: string; port: string; nodePort?: number }) => {
          setError(undefined);
          try {
            await must(
              api.PUT('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/ports/{port}', {
                params: { path: { ...env, app: v.app, port: v.port } },
                body: { nodePort: v.nodePort },
              }),
            );
            onClose();
          } catch (e) {
            setError(showFieldErrors(form, e, ['nodePort']));
          }
        }}
      >
        <Form.Item name="app" label={t('apps.application')} rules={[{ required: true }]}>
          <Select options={(deployments.data?.items ?? []).map((d) => ({ value: d.application, label: d.application }))} />
        </Form.Item>
        <Form.Item name="port" label={t('apps.port')} rules={[{ required: true }]}>
          <Input placeholder="http" />
        </Form.Item>
        <Form.Item name="nodePort" label="nodePort">
          <InputNumber min={1} max={65535} />
        </Form.Item>
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

/** Network shows the network assets of the chosen tenant or project. */
export default function Network() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant, scope.project);
  const [exposing, setExposing] = useState(false);
  const tenant = scope.tenant;
  const project = scope.project;
  const ports = useLoad(
    () =>
      tenant
        ? project
          ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/network/ports', { params: { path: { tenant, project } } }))
          : must(api.GET('/api/v1/tenants/{tenant}/network/ports', { params: { path: { tenant } } }))
        : undefined,
    [tenant, project],
  );
  const bandwidth = useLoad(
    () =>
      tenant
        ? project
          ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/network/bandwidth', { params: { path: { tenant, project } } }))
          : must(api.GET('/api/v1/tenants/{tenant}/network/bandwidth', { params: { path: { tenant } } }))
        : undefined,
    [tenant, project],
  );
  const isolation = useLoad(
    () =>
      tenant
        ? project
          ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/network/isolation', { params: { path: { tenant, project } } }))
          : must(api.GET('/api/v1/tenants/{tenant}/network/isolation', { params: { path: { tenant } } }))
        : undefined,
    [tenant, project],
  );
  useLive('network', (e) => e.tenant === tenant, () => {
    ports.reload();
    isolation.reload();
  });
  if (!tenant) return <Empty description={t('common.chooseTenant')} />;
  const env = project && scope.environment ? { tenant, project, environment: scope.environment } : undefined;
  const unexpose = async (a: Allocation) => {
    try {
      await must(
        api.DELETE('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/ports/{port}', {
          params: { path: { tenant: a.tenant ?? '', project: a.project ?? '', environment: a.environment ?? '', app: a.application ?? '', port: a.portName ?? '' } },
        }),
      );
      ports.reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Typography.Title level={4} style={{ margin: 0 }}>
        {t('network.title')} · {tenant}
        {project ? ` / ${project}` : ''}
      </Typography.Title>
      <ErrorAlert error={ports.error ?? bandwidth.error ?? isolation.error} />
      <Card
        size="small"
        title={t('network.ports')}
        extra={
          env && (
            <Guarded perms={perms} perm="network:expose" size="small" onClick={() => setExposing(true)}>
              {t('network.expose')}
            </Guarded>
          )
        }
      >
        <Table<PortView>
          size="small"
          rowKey="cluster"
          pagination={false}
          dataSource={ports.data?.items ?? []}
          expandable={{
            rowExpandable: (p) => (p.allocations ?? []).length > 0,
            expandedRowRender: (p) => (
              <Table<Allocation>
                size="small"
                rowKey={(a) => `${a.port}`}
                pagination={false}
                dataSource={p.allocations ?? []}
                columns={[
                  { title: 'nodePort', dataIndex: 'port' },
                  { title: t('network.holders'), key: 'holder', render: (_, a) => `${a.project}/${a.environment}/${a.application}:${a.portName}` },
                  { title: t('common.createdBy'), dataIndex: 'createdBy' },
                  {
                    title: t('common.actions'),
                    key: 'a',
                    render: (_, a) => (
                      <Guarded perms={perms} perm="network:expose" size="small" danger onClick={() => unexpose(a)}>
                        {t('network.unexpose')}
                      </Guarded>
                    ),
                  },
                ]}
              />
            ),
          }}
          columns={[
            { title: t('network.cluster'), dataIndex: 'cluster' },
            { title: t('network.ports'), dataIndex: 'ports', render: (s: string) => <code data-testid="ports">{s || '—'}</code> },
            { title: t('network.allotted'), dataIndex: 'allotted', render: (s: string) => <code>{s || '—'}</code> },
            { title: t('network.used'), dataIndex: 'used', render: (s: string) => <code>{s || '—'}</code> },
            { title: t('network.free'), dataIndex: 'free', render: (s: string) => <code data-testid="free">{s || '—'}</code> },
            { title: t('network.grants'), key: 'grants', render: (_, p) => (p.grants ?? []).map((g) => <Tag key={`${g.tenant}/${g.project}`}>{`${g.project || g.tenant}: ${g.ports}`}</Tag>) },
          ]}
        />
      </Card>
      <Card size="small" title={t('network.bandwidth')}>
        <Descriptions size="small" column={3}>
          <Descriptions.Item label={t('network.ingress')}>
            {bps(bandwidth.data?.used?.ingress as number | undefined)} / {bps(bandwidth.data?.limit?.ingress as number | undefined)}
          </Descriptions.Item>
          <Descriptions.Item label={t('network.egress')}>
            {bps(bandwidth.data?.used?.egress as number | undefined)} / {bps(bandwidth.data?.limit?.egress as number | undefined)}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card size="small" title={t('network.isolation')}>
        <Descriptions size="small" column={2}>
          <Descriptions.Item label={t('network.level')}>
            <Tag data-testid="isolation-level">{isolation.data?.level || t('common.none')}</Tag>
          </Descriptions.Item>
          <Descriptions.Item label={t('network.allow')}>
            {(isolation.data?.allow ?? []).map((a, i) => (
              <Tag key={i}>{`${a.from?.tenant}/${a.from?.project ?? '*'}/${a.from?.application ?? '*'} → ${a.to?.tenant}/${a.to?.project ?? '*'}/${a.to?.application ?? '*'}`}</Tag>
            ))}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Expose open={exposing} env={env} onClose={() => { setExposing(false); ports.reload(); }} />
    </Space>
  );
}
