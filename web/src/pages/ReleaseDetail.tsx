// One release order: four eyes (who may approve, who did), start, live
// progress, the per-item timeline with failure evidence, abort and rollback.
import { Alert, App, Card, Checkbox, Descriptions, Form, Input, Modal, Space, Table, Timeline, Typography } from 'antd';
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
import { Progress } from './Releases';

type Item = NonNullable<Schemas['OrderView']['items']>[number];
const time = (s?: string) => (s ? dayjs(s).format('HH:mm:ss') : '');

/** ReleaseDetail shows and drives one release order. */
export default function ReleaseDetail() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const { scope, me } = useSession();
  const { message } = App.useApp();
  const perms = usePermissions(scope.tenant, scope.project);
  const [rolling, setRolling] = useState(false);
  const [form] = Form.useForm();
  const path = { tenant: scope.tenant ?? '', project: scope.project ?? '', id };
  const order = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/releases/{id}', { params: { path } })), [path.tenant, path.project, id]);
  useLive('releases', (e) => e.name === id, order.reload);
  const o = order.data;
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      order.reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  const base = '/api/v1/tenants/{tenant}/projects/{project}/releases/{id}' as const;
  const mine = o?.createdBy === me?.user?.name;
  const approved = (o?.approvals ?? []).map((a) => a.user);
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Typography.Title level={4} style={{ margin: 0 }}>
        {o?.title ?? id} <PhaseTag prefix="releases.states" state={o?.state} />
      </Typography.Title>
      <ErrorAlert error={order.error} />
      {o && (
        <>
          <Card size="small">
            <Descriptions size="small" column={{ xs: 1, md: 3 }}>
              <Descriptions.Item label="ID">{o.id}</Descriptions.Item>
              <Descriptions.Item label={t('releases.ticket')}>{o.ticket || '—'}</Descriptions.Item>
              <Descriptions.Item label={t('scope.environment')}>{o.environment}</Descriptions.Item>
              <Descriptions.Item label={t('common.createdBy')}>{o.createdBy}</Descriptions.Item>
              <Descriptions.Item label={t('releases.items')}>
                <Progress o={o} />
              </Descriptions.Item>
              <Descriptions.Item label={t('releases.approvals')}>
                <span data-testid="approvals">
                  {t('releases.required', { n: o.requiredApprovals ?? 0 })} · {t('releases.approvedBy')}: {approved.join(', ') || t('common.none')}
                </span>
              </Descriptions.Item>
            </Descriptions>
            <Typography.Text type="secondary">{t('releases.approver')}</Typography.Text>
            <div style={{ marginTop: 12 }}>
              <Space wrap>
                {o.state === 'Draft' && (
                  <Guarded perms={perms} perm="release:create" onClick={() => act(() => must(api.POST(`${base}/submit`, { params: { path } })))}>
                    {t('releases.submit')}
                  </Guarded>
                )}
                {o.state === 'PendingApproval' && !mine && !approved.includes(me?.user?.name) && (
                  <Guarded perms={perms} perm="release:approve" type="primary" onClick={() => act(() => must(api.POST(`${base}/approve`, { params: { path }, body: {} })))}>
                    {t('releases.approve')}
                  </Guarded>
                )}
                {o.state === 'Approved' && (
                  <Guarded perms={perms} perm="release:operate" type="primary" onClick={() => act(() => must(api.POST(`${base}/start`, { params: { path } })))}>
                    {t('releases.start')}
                  </Guarded>
                )}
                {['Running', 'Graying', 'Approved', 'PendingApproval', 'Draft'].includes(o.state ?? '') && (
                  <Guarded perms={perms} perm="release:operate" danger onClick={() => act(() => must(api.POST(`${base}/abort`, { params: { path }, body: {} })))}>
                    {t('releases.abort')}
                  </Guarded>
                )}
                {o.state === 'Succeeded' && (
                  <Guarded perms={perms} perm="release:operate" danger onClick={() => setRolling(true)}>
                    {t('releases.rollback')}
                  </Guarded>
                )}
              </Space>
            </div>
          </Card>
          {o.failure?.message && (
            <Alert
              type="error"
              showIcon
              data-testid="failure"
              title={`${t('releases.failure')}: ${o.failure.item ?? ''} ${o.failure.reason ?? ''}`}
              description={`${o.failure.pod ?? ''} ${o.failure.message}`}
            />
          )}
          <Card size="small" title={t('releases.timeline')}>
            <Table<Item>
              size="small"
              rowKey="application"
              pagination={false}
              scroll={{ x: 'max-content' }}
              dataSource={o.items ?? []}
              columns={[
                { title: t('apps.application'), dataIndex: 'application' },
                { title: t('apps.version'), dataIndex: 'version' },
                { title: t('releases.before'), key: 'before', render: (_, i) => (i.before?.absent ? '—' : i.before?.version) },
                { title: t('releases.dependsOn'), key: 'deps', render: (_, i) => (i.dependsOn ?? []).join(', ') },
                { title: t('releases.state'), dataIndex: 'state', render: (s: string) => <PhaseTag prefix="releases.states" state={s} /> },
                {
                  title: t('releases.timeline'),
                  key: 'timeline',
                  render: (_, i) => (
                    <Timeline
                      style={{ marginBottom: -24, paddingTop: 8 }}
                      items={[
                        i.startedAt && { content: `${time(i.startedAt)} ${t('releases.states.Deploying')}` },
                        i.finishedAt && { content: `${time(i.finishedAt)} ${t(`releases.states.${i.state}`, { defaultValue: i.state })}`, color: i.state === 'Succeeded' ? 'green' : 'red' },
                        i.fault?.reason && { content: `${i.fault.reason}: ${i.fault.pod ?? ''} ${i.fault.message ?? ''}`, color: 'red' },
                        i.message && { content: i.message, color: 'gray' },
                      ].filter(Boolean) as { content: string }[]}
                    />
                  ),
                },
              ]}
            />
          </Card>
        </>
      )}
      <Modal
        open={rolling}
        title={t('releases.rollback')}
        onCancel={() => setRolling(false)}
        onOk={() => form.submit()}
        destroyOnHidden
      >
        <Form
          form={form}
          layout="vertical"
          onFinish={(v: { items?: string[]; reason?: string }) =>
            act(() => must(api.POST(`${base}/rollback`, { params: { path }, body: { items: v.items ?? [], reason: v.reason } }))).then(() => setRolling(false))
          }
        >
          <Form.Item name="items" label={t('releases.chooseItems')}>
            <Checkbox.Group options={(o?.items ?? []).map((i) => ({ label: i.application ?? '', value: i.application ?? '' }))} />
          </Form.Item>
          <Form.Item name="reason" label={t('common.reason')}>
            <Input />
          </Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}
