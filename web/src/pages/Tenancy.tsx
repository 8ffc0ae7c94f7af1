// Tenants → projects → environments, with quotas (live usage bars), members
// and the resource tiers with their stated capacity.
import { App, Card, Col, Empty, Form, Input, InputNumber, Modal, Progress, Row, Select, Space, Table, Typography } from 'antd';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { quantity } from '../components/quantity';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';

/** CreateDialog is a small form that creates one object; fields are its inputs. */
function CreateDialog({ title, open, onClose, create, fields, names }: {
  title: string; open: boolean; onClose: () => void; create: (v: Record<string, unknown>) => Promise<unknown>; fields: ReactNode; names: string[];
}) {
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  return (
    <Modal open={open} title={title} onCancel={onClose} onOk={() => form.submit()} destroyOnHidden>
      <Form
        form={form}
        layout="vertical"
        onFinish={async (v: Record<string, unknown>) => {
          setError(undefined);
          try {
            await create(v);
            onClose();
          } catch (e) {
            setError(showFieldErrors(form, e, names));
          }
        }}
      >
        {fields}
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

function Usage({ usage }: { usage?: Schemas['Usage'] }) {
  const { t } = useTranslation();
  const hard = usage?.hard ?? {};
  if (Object.keys(hard).length === 0) return <Typography.Text type="secondary">{t('common.none')}</Typography.Text>;
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      {Object.entries(hard).map(([k, h]) => {
        const used = usage?.used?.[k] ?? '0';
        const pct = Math.round((100 * quantity(used)) / quantity(h));
        return (
          <div key={k} data-testid={`usage-${k}`}>
            <Typography.Text>
              {k}: {used} / {h}
            </Typography.Text>
            <Progress percent={Number.isFinite(pct) ? pct : 0} status={pct >= 100 ? 'exception' : 'normal'} size="small" aria-label={`${k} ${pct}%`} />
          </div>
        );
      })}
    </Space>
  );
}

function Members({ tenant, project, perms }: { tenant: string; project?: string; perms?: Set<string> }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [adding, setAdding] = useState(false);
  const list = useLoad(
    () =>
      project
        ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/members', { params: { path: { tenant, project }, query: { limit: '500' } } }))
        : must(api.GET('/api/v1/tenants/{tenant}/members', { params: { path: { tenant }, query: { limit: '500' } } })),
    [tenant, project],
  );
  const remove = async (m: Schemas['Member']) => {
    try {
      const path = { tenant, user: m.user ?? '', role: m.role ?? '' };
      await must(project ? api.DELETE('/api/v1/tenants/{tenant}/projects/{project}/members/{user}/{role}', { params: { path: { ...path, project } } }) : api.DELETE('/api/v1/tenants/{tenant}/members/{user}/{role}', { params: { path } }));
      list.reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  const roles = project ? ['project-admin', 'developer', 'release-manager', 'operator', 'auditor', 'viewer'] : ['tenant-admin', 'project-admin', 'developer', 'release-manager', 'operator', 'auditor', 'viewer'];
  return (
    <Card size="small" title={`${t('tenancy.members')} · ${project ? `${tenant}/${project}` : tenant}`}
      extra={<Guarded perms={perms} perm="member:create" size="small" onClick={() => setAdding(true)}>{t('tenancy.addMember')}</Guarded>}>
      <ErrorAlert error={list.error} />
      <Table<Schemas['Member']>
        size="small"
        rowKey={(m) => `${m.user}/${m.role}`}
        pagination={false}
        dataSource={list.data?.items ?? []}
        columns={[
          { title: t('tenancy.user'), dataIndex: 'user' },
          { title: t('tenancy.role'), dataIndex: 'role' },
          { title: t('common.createdBy'), dataIndex: 'createdBy' },
          { title: t('common.actions'), key: 'a', render: (_, m) => <Guarded perms={perms} perm="member:delete" size="small" danger onClick={() => remove(m)}>{t('common.delete')}</Guarded> },
        ]}
      />
      <CreateDialog
        title={t('tenancy.addMember')}
        open={adding}
        onClose={() => { setAdding(false); list.reload(); }}
        names={['user', 'role']}
        create={(v) =>
          must(project
            ? api.POST('/api/v1/tenants/{tenant}/projects/{project}/members', { params: { path: { tenant, project } }, body: v as Schemas['Member'] })
            : api.POST('/api/v1/tenants/{tenant}/members', { params: { path: { tenant } }, body: v as Schemas['Member'] }))
        }
        fields={
          <>
            <Form.Item name="user" label={t('tenancy.user')} rules={[{ required: true }]}><Input /></Form.Item>
            <Form.Item name="role" label={t('tenancy.role')} rules={[{ required: true }]}><Select options={roles.map((r) => ({ value: r, label: r }))} /></Form.Item>
          </>
        }
      />
    </Card>
  );
}

/** Tenancy manages tenants, projects, environments, quotas, members and tiers. */
export default function Tenancy() {
  const { t } = useTranslation();
  const { scope, setScope } = useSession();
  const platform = usePermissions();
  const tenantPerms = usePermissions(scope.tenant);
  const projectPerms = usePermissions(scope.tenant, scope.project);
  const [dialog, setDialog] = useState<'tenant' | 'project' | 'environment'>();
  const tenants = useLoad(() => must(api.GET('/api/v1/tenants', { params: { query: { limit: '500' } } })), []);
  const projects = useLoad(() => (scope.tenant ? must(api.GET('/api/v1/tenants/{tenant}/projects', { params: { path: { tenant: scope.tenant }, query: { limit: '500' } } })) : undefined), [scope.tenant]);
  const envs = useLoad(
    () => (scope.tenant && scope.project ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments', { params: { path: { tenant: scope.tenant, project: scope.project }, query: { limit: '500' } } })) : undefined),
    [scope.tenant, scope.project],
  );
  const tenantUsage = useLoad(() => (scope.tenant ? must(api.GET('/api/v1/tenants/{tenant}/quota', { params: { path: { tenant: scope.tenant } } })) : undefined), [scope.tenant]);
  const projectUsage = useLoad(
    () => (scope.tenant && scope.project ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/quota', { params: { path: { tenant: scope.tenant, project: scope.project } } })) : undefined),
    [scope.tenant, scope.project],
  );
  const clusters = useLoad(() => (dialog === 'environment' ? must(api.GET('/api/v1/clusters', { params: { query: { limit: '500' } } })) : undefined), [dialog]);
  const tiers = useLoad(() => must(api.GET('/api/v1/tiers', { params: { query: { limit: '500' } } })), []);
  useLive('deployments', (e) => e.tenant === scope.tenant, () => {
    tenantUsage.reload();
    projectUsage.reload();
  });
  const named = (items?: { name?: string; displayName?: string; description?: string }[], selected?: string, pick?: (n: string) => void) => (
    <Table
      size="small"
      rowKey="name"
      pagination={false}
      dataSource={items ?? []}
      rowSelection={pick && { type: 'radio', selectedRowKeys: selected ? [selected] : [], onChange: (keys) => pick(String(keys[0])) }}
      onRow={(r) => ({ onClick: () => pick?.(r.name ?? '') })}
      columns={[
        { title: t('common.name'), dataIndex: 'name' },
        { title: t('common.displayName'), dataIndex: 'displayName' },
      ]}
    />
  );
  const nameFields = (
    <>
      <Form.Item name="name" label={t('common.name')} rules={[{ required: true }]}><Input /></Form.Item>
      <Form.Item name="displayName" label={t('common.displayName')}><Input /></Form.Item>
      <Form.Item name="description" label={t('common.description')}><Input /></Form.Item>
    </>
  );
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Typography.Title level={4} style={{ margin: 0 }}>{t('nav.tenancy')}</Typography.Title>
      <ErrorAlert error={tenants.error} />
      <Row gutter={[12, 12]}>
        <Col xs={24} lg={8}>
          <Card size="small" title={t('tenancy.tenants')} extra={<Guarded perms={platform} perm="tenant:create" size="small" onClick={() => setDialog('tenant')}>{t('tenancy.newTenant')}</Guarded>}>
            {named(tenants.data?.items, scope.tenant, (tenant) => setScope({ tenant }))}
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card size="small" title={t('tenancy.projects')} extra={scope.tenant && <Guarded perms={tenantPerms} perm="project:create" size="small" onClick={() => setDialog('project')}>{t('tenancy.newProject')}</Guarded>}>
            {scope.tenant ? named(projects.data?.items, scope.project, (project) => setScope({ tenant: scope.tenant, project })) : <Empty description={t('common.chooseTenant')} />}
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card size="small" title={t('tenancy.environments')} extra={scope.project && <Guarded perms={projectPerms} perm="environment:create" size="small" onClick={() => setDialog('environment')}>{t('tenancy.newEnvironment')}</Guarded>}>
            {scope.project ? (
              <Table<Schemas['Environment']>
                size="small"
                rowKey="name"
                pagination={false}
                dataSource={envs.data?.items ?? []}
                rowSelection={{ type: 'radio', selectedRowKeys: scope.environment ? [scope.environment] : [], onChange: (k) => setScope({ ...scope, environment: String(k[0]) }) }}
                onRow={(r) => ({ onClick: () => setScope({ ...scope, environment: r.name }) })}
                columns={[
                  { title: t('common.name'), dataIndex: 'name' },
                  { title: t('tenancy.cluster'), dataIndex: 'cluster' },
                  { title: t('tenancy.namespace'), dataIndex: 'namespace' },
                  { title: t('tenancy.requiredApprovals'), dataIndex: 'requiredApprovals' },
                ]}
              />
            ) : (
              <Empty description={t('common.chooseProject')} />
            )}
          </Card>
        </Col>
        {scope.tenant && (
          <Col xs={24} lg={12}>
            <Card size="small" title={`${t('tenancy.quota')} · ${scope.tenant}`}><Usage usage={tenantUsage.data} /></Card>
          </Col>
        )}
        {scope.project && (
          <Col xs={24} lg={12}>
            <Card size="small" title={`${t('tenancy.quota')} · ${scope.tenant}/${scope.project}`}><Usage usage={projectUsage.data} /></Card>
          </Col>
        )}
        {scope.tenant && <Col xs={24} lg={12}><Members tenant={scope.tenant} perms={tenantPerms} /></Col>}
        {scope.project && <Col xs={24} lg={12}><Members tenant={scope.tenant!} project={scope.project} perms={projectPerms} /></Col>}
        <Col span={24}>
          <Card size="small" title={t('tenancy.tiers')}>
            <Table<Schemas['Tier']>
              size="small"
              rowKey="name"
              pagination={false}
              dataSource={tiers.data?.items ?? []}
              columns={[
                { title: t('common.name'), dataIndex: 'name' },
                { title: t('tenancy.capacity'), dataIndex: 'capacity' },
                { title: 'requests', key: 'req', render: (_, x) => Object.entries(x.resources?.requests ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') },
                { title: 'limits', key: 'lim', render: (_, x) => Object.entries(x.resources?.limits ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') },
                { title: t('common.description'), dataIndex: 'description' },
              ]}
            />
          </Card>
        </Col>
      </Row>
      <CreateDialog
        title={t('tenancy.newTenant')}
        open={dialog === 'tenant'}
        onClose={() => { setDialog(undefined); tenants.reload(); }}
        names={['name', 'displayName', 'description']}
        create={(v) => must(api.POST('/api/v1/tenants', { body: v as Schemas['Tenant'] }))}
        fields={nameFields}
      />
      <CreateDialog
        title={t('tenancy.newProject')}
        open={dialog === 'project'}
        onClose={() => { setDialog(undefined); projects.reload(); }}
        names={['name', 'displayName', 'description']}
        create={(v) => must(api.POST('/api/v1/tenants/{tenant}/projects', { params: { path: { tenant: scope.tenant ?? '' } }, body: v as Schemas['Project'] }))}
        fields={nameFields}
      />
      <CreateDialog
        title={t('tenancy.newEnvironment')}
        open={dialog === 'environment'}
        onClose={() => { setDialog(undefined); envs.reload(); }}
        names={['name', 'cluster', 'namespace', 'requiredApprovals', 'description']}
        create={(v) => must(api.POST('/api/v1/tenants/{tenant}/projects/{project}/environments', { params: { path: { tenant: scope.tenant ?? '', project: scope.project ?? '' } }, body: v as Schemas['Environment'] }))}
        fields={
          <>
            <Form.Item name="name" label={t('common.name')} rules={[{ required: true }]}><Input /></Form.Item>
            <Form.Item name="cluster" label={t('tenancy.cluster')} rules={[{ required: true }]}>
              <Select options={(clusters.data?.items ?? []).map((c) => ({ value: c.name, label: c.name }))} />
            </Form.Item>
            <Form.Item name="namespace" label={t('tenancy.namespace')}><Input placeholder={`${scope.tenant}-${scope.project}-…`} /></Form.Item>
            <Form.Item name="requiredApprovals" label={t('tenancy.requiredApprovals')}><InputNumber min={0} max={5} /></Form.Item>
          </>
        }
      />
    </Space>
  );
}
