// Release orders of a project: the list with live progress, and the editor
// of a new order (stages of items that run in parallel, ticket, deadline).
import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Checkbox, Empty, Form, Input, InputNumber, Modal, Select, Space, Table, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { PhaseTag } from '../components/phase';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';

type Order = Schemas['OrderView'];
type Project = { tenant: string; project: string };

/** Progress says "done N / deploying N / failed N" as the seed shows it. */
export function Progress({ o }: { o: Order }) {
  const { t } = useTranslation();
  const p = o.progress ?? {};
  return <span data-testid="progress">{t('releases.progress', { done: p.done ?? 0, deploying: p.deploying ?? 0, failed: p.failed ?? 0 })}</span>;
}

function CreateOrder({ proj, environment, open, onClose }: { proj: Project; environment?: string; open: boolean; onClose: (id?: string) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const apps = useLoad(
    () => (open ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications', { params: { path: proj, query: { limit: '500' } } })) : undefined),
    [open, proj.tenant, proj.project],
  );
  const envs = useLoad(
    () => (open ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments', { params: { path: proj, query: { limit: '500' } } })) : undefined),
    [open, proj.tenant, proj.project],
  );
  const submit = async (v: { title: string; ticket?: string; environment: string; deadline?: string; parallelism?: number; draft?: boolean; stages: { items: { application: string; version: string }[] }[] }) => {
    setError(undefined);
    try {
      const o = await must(
        api.POST('/api/v1/tenants/{tenant}/projects/{project}/releases', {
          params: { path: proj },
          body: {
            title: v.title,
            ticket: v.ticket,
            environment: v.environment,
            deadline: v.deadline || undefined,
            parallelism: v.parallelism || undefined,
            draft: v.draft,
            stages: v.stages.map((s) => s.items),
          },
        }),
      );
      form.resetFields();
      onClose(o.id);
    } catch (e) {
      setError(showFieldErrors(form, e, ['title', 'ticket', 'environment', 'deadline', 'parallelism', 'stages']));
    }
  };
  const appOptions = (apps.data?.items ?? []).map((a) => ({ value: a.name, label: a.name }));
  return (
    <Modal open={open} width={720} title={t('releases.create')} onCancel={() => onClose()} onOk={() => form.submit()} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ environment, stages: [{ items: [{}] }] }}>
        <Space wrap>
          <Form.Item name="title" label={t('releases.titleField')} rules={[{ required: true }]}>
            <Input style={{ width: 260 }} />
          </Form.Item>
          <Form.Item name="ticket" label={t('releases.ticket')}>
            <Input style={{ width: 160 }} placeholder="CHG-…" />
          </Form.Item>
          <Form.Item name="environment" label={t('scope.environment')} rules={[{ required: true }]}>
            <Select style={{ width: 160 }} options={(envs.data?.items ?? []).map((e) => ({ value: e.name, label: e.name }))} />
          </Form.Item>
          <Form.Item name="deadline" label={t('releases.deadline')}>
            <Input style={{ width: 100 }} placeholder="10m" />
          </Form.Item>
          <Form.Item name="parallelism" label={t('releases.parallelism')}>
            <InputNumber min={1} style={{ width: 90 }} />
          </Form.Item>
        </Space>
        <Form.List name="stages">
          {(stages, { add, remove }) => (
            <>
              {stages.map((stage, si) => (
                <Card key={stage.key} size="small" style={{ marginBottom: 8 }} title={t('releases.stage', { n: si + 1 })}
                  extra={stages.length > 1 && <MinusCircleOutlined aria-label="remove stage" onClick={() => remove(stage.name)} />}>
                  <Form.List name={[stage.name, 'items']}>
                    {(items, { add: addItem, remove: removeItem }) => (
                      <>
                        {items.map((item) => (
                          <Space key={item.key} align="baseline">
                            <Form.Item name={[item.name, 'application']} rules={[{ required: true }]}>
                              <Select aria-label={t('apps.application')} style={{ width: 220 }} placeholder={t('apps.application')} options={appOptions} />
                            </Form.Item>
                            <Form.Item name={[item.name, 'version']} rules={[{ required: true }]}>
                              <Input aria-label={t('apps.version')} style={{ width: 140 }} placeholder={t('apps.version')} />
                            </Form.Item>
                            {items.length > 1 && <MinusCircleOutlined aria-label="remove item" onClick={() => removeItem(item.name)} />}
                          </Space>
                        ))}
                        <Button type="dashed" size="small" icon={<PlusOutlined />} onClick={() => addItem({})}>
                          {t('releases.addItem')}
                        </Button>
                      </>
                    )}
                  </Form.List>
                </Card>
              ))}
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ items: [{}] })}>
                {t('releases.addStage')}
              </Button>
            </>
          )}
        </Form.List>
        <Form.Item name="draft" valuePropName="checked" style={{ marginTop: 12 }}>
          <Checkbox>{t('releases.draft')}</Checkbox>
        </Form.Item>
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

/** Releases lists a project's release orders. */
export default function Releases() {
  const { t } = useTranslation();
  const { scope } = useSession();
  const navigate = useNavigate();
  const perms = usePermissions(scope.tenant, scope.project);
  const [creating, setCreating] = useState(false);
  const proj = scope.tenant && scope.project ? { tenant: scope.tenant, project: scope.project } : undefined;
  const list = useLoad(
    () => (proj ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/releases', { params: { path: proj, query: { limit: '200' } } })) : undefined),
    [proj?.tenant, proj?.project],
  );
  useLive('releases', (e) => e.tenant === proj?.tenant && e.project === proj?.project, list.reload);
  if (!proj) return <Empty description={t('common.chooseProject')} />;
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('releases.title')}
        </Typography.Title>
        <Guarded perms={perms} perm="release:create" type="primary" onClick={() => setCreating(true)}>
          {t('releases.create')}
        </Guarded>
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Order>
        rowKey="id"
        size="middle"
        loading={list.loading && !list.data}
        dataSource={list.data?.items ?? []}
        scroll={{ x: 'max-content' }}
        columns={[
          { title: 'ID', dataIndex: 'id', render: (id: string) => <Link to={`/releases/${id}`}>{id}</Link> },
          { title: t('releases.titleField'), dataIndex: 'title' },
          { title: t('releases.ticket'), dataIndex: 'ticket' },
          { title: t('scope.environment'), dataIndex: 'environment' },
          { title: t('releases.state'), dataIndex: 'state', render: (s: string) => <PhaseTag prefix="releases.states" state={s} /> },
          { title: t('releases.items'), key: 'progress', render: (_, o) => <Progress o={o} /> },
          { title: t('common.createdBy'), dataIndex: 'createdBy' },
          { title: t('common.createdAt'), dataIndex: 'createdAt', render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm') : '') },
        ]}
      />
      <CreateOrder proj={proj} environment={scope.environment} open={creating} onClose={(id) => { setCreating(false); if (id) navigate(`/releases/${id}`); }} />
    </Space>
  );
}
