// One config item: its current content (a secret's only for who may read
// secrets), the gray revision with promote and abort, the proposal awaiting
// approval (never offered to its author), the history of revisions with
// rollback, and the diff between any two revisions.
import { LockOutlined, ReloadOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Descriptions, Empty, Form, Input, Modal, Radio, Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { api, isApiError, must } from '../api/client';
import { Guarded } from '../components/Can';
import { CodeArea } from '../components/CodeArea';
import { DiffView } from '../components/DiffView';
import { ErrorAlert } from '../components/errors';
import { PhaseTag } from '../components/phase';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import type { EnvPath } from './Apps';
import { useRevisionNotice } from './Config';
import { configBase, ConfigEditor, describeCohort, type ConfigRevision } from './ConfigEditor';

const when = (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm:ss') : '');

/** useHistory reads an item's revisions, newest first, a page at a time. */
function useHistory(path: { tenant: string; project: string; environment: string; group: string; dataid: string }) {
  const [older, setOlder] = useState<{ items: ConfigRevision[]; next?: string }>({ items: [] });
  const first = useLoad(
    () => must(api.GET(`${configBase}/revisions`, { params: { path, query: { limit: '100' } } })),
    [path.tenant, path.project, path.environment, path.group, path.dataid],
  );
  useEffect(() => setOlder({ items: [] }), [first.data]);
  const next = older.items.length ? older.next : first.data?.continue;
  const more = async () => {
    const page = await must(api.GET(`${configBase}/revisions`, { params: { path, query: { limit: '100', before: next } } }));
    setOlder((o) => ({ items: [...o.items, ...(page.items ?? [])], next: page.continue || undefined }));
  };
  return { revisions: [...(first.data?.items ?? []), ...older.items], more: next ? more : undefined, reload: first.reload, error: first.error, loading: first.loading };
}

/** RevisionContent shows one revision's content, read when opened. */
function RevisionContent({ path, n, onClose }: { path: Parameters<typeof useHistory>[0]; n?: number; onClose: () => void }) {
  const { t } = useTranslation();
  const rev = useLoad(
    () => (n ? must(api.GET(`${configBase}/revisions/{revision}`, { params: { path: { ...path, revision: String(n) } } })) : undefined),
    [n],
  );
  return (
    <Modal open={!!n} width={880} title={t('config.revisionTitle', { n })} onCancel={onClose} footer={null} destroyOnHidden>
      <ErrorAlert error={rev.error} />
      {rev.data && (
        <Space orientation="vertical" style={{ width: '100%' }}>
          <Typography.Text type="secondary">
            {rev.data.type} · {rev.data.author} · {when(rev.data.time)} {rev.data.md5 && `· MD5 ${rev.data.md5}`}
          </Typography.Text>
          <CodeArea value={rev.data.content ?? ''} readOnly rows={18} aria-label={t('config.revisionTitle', { n })} />
        </Space>
      )}
    </Modal>
  );
}

/** Compare shows the server's diff between two revisions, unified or side by side. */
function Compare({ path, revisions, from, to, setFrom, setTo }: {
  path: Parameters<typeof useHistory>[0];
  revisions: ConfigRevision[];
  from?: number;
  to?: number;
  setFrom: (n: number) => void;
  setTo: (n: number) => void;
}) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'unified' | 'split'>('split');
  const diff = useLoad(
    () => (from && to ? must(api.GET(`${configBase}/diff`, { params: { path, query: { from: String(from), to: String(to) } } })) : undefined),
    [path.dataid, from, to],
  );
  const options = revisions
    .filter((r) => r.op !== 'delete')
    .map((r) => ({ value: r.number, label: `r${r.number} · ${r.author} · ${when(r.time)}${r.comment ? ` · ${r.comment}` : ''}` }));
  const lines = diff.data?.lines ?? [];
  const changed = lines.some((l) => l.op !== ' ');
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Space wrap>
        <Select aria-label={t('config.from')} placeholder={t('config.from')} style={{ width: 340 }} value={from} options={options} onChange={setFrom} data-testid="diff-from" />
        →
        <Select aria-label={t('config.to')} placeholder={t('config.to')} style={{ width: 340 }} value={to} options={options} onChange={setTo} data-testid="diff-to" />
        <Radio.Group
          optionType="button"
          value={mode}
          onChange={(e) => setMode(e.target.value)}
          options={[
            { value: 'split', label: t('config.split') },
            { value: 'unified', label: t('config.unified') },
          ]}
        />
      </Space>
      <ErrorAlert error={diff.error} />
      {diff.data && !changed && <Alert type="info" showIcon title={t('config.noChanges')} />}
      {diff.data && <DiffView lines={lines} mode={mode} />}
    </Space>
  );
}

/** ConfigDetail shows and changes one config item. */
export default function ConfigDetail() {
  const { t } = useTranslation();
  const { group = '', dataId = '' } = useParams();
  const { scope, me } = useSession();
  const { modal, message } = App.useApp();
  const navigate = useNavigate();
  const notice = useRevisionNotice();
  const perms = usePermissions(scope.tenant, scope.project);
  const [editing, setEditing] = useState<'edit' | 'gray'>();
  const [viewing, setViewing] = useState<number>();
  const [rollingTo, setRollingTo] = useState<number>();
  const [rejecting, setRejecting] = useState(false);
  const [tab, setTab] = useState('content');
  const [diffFrom, setDiffFrom] = useState<number>();
  const [diffTo, setDiffTo] = useState<number>();
  const [rollbackForm] = Form.useForm();
  const [rejectForm] = Form.useForm();
  const env = scope.tenant && scope.project && scope.environment ? (scope as EnvPath) : undefined;
  const path = { tenant: env?.tenant ?? '', project: env?.project ?? '', environment: env?.environment ?? '', group, dataid: dataId };
  const item = useLoad(() => (env ? must(api.GET(configBase, { params: { path } })) : undefined), [path.tenant, path.project, path.environment, group, dataId]);
  const history = useHistory(path);
  const reload = () => {
    item.reload();
    history.reload();
  };
  // Another person's change (an approval, a promotion, a new proposal) shows without a reload.
  useLive('configs', (e) => e.tenant === path.tenant && e.project === path.project && e.environment === path.environment && e.name === `${group}/${dataId}`, reload);
  const act = async (f: () => Promise<ConfigRevision>) => {
    try {
      notice(await f());
      reload();
    } catch (e) {
      void message.error((e as Error).message);
    }
  };
  if (!env) return <Empty description={t('common.chooseEnvironment')} />;
  const it = item.data;
  const missing = isApiError(item.error) && item.error.status === 404;
  const revisions = history.revisions;
  const proposal = revisions.find((r) => r.state === 'proposed');
  const current = it?.revision;
  const user = me?.user?.name;
  const compare = (from?: number, to?: number) => {
    setDiffFrom(from);
    setDiffTo(to);
    setTab('compare');
  };
  // The diff opens on the last change: the revision before the current one → the current one.
  const published = revisions.filter((r) => r.op !== 'delete');
  const defaultFrom = diffFrom ?? published[1]?.number;
  const defaultTo = diffTo ?? published[0]?.number;

  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Link to="/config">← {t('config.back')}</Link>
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {dataId} <Typography.Text type="secondary">({group})</Typography.Text>{' '}
          {it?.type && <Tag>{it.type}</Tag>}
          {it?.secret && (
            <Tag icon={<LockOutlined />} color="purple">
              {t('config.secret')}
            </Tag>
          )}
        </Typography.Title>
        <Space wrap>
          <Button icon={<ReloadOutlined />} onClick={reload} aria-label={t('common.refresh')} />
          <Guarded perms={perms} perm="config:write" type="primary" disabled={!it} onClick={() => setEditing('edit')}>
            {t('config.edit')}
          </Guarded>
          <Guarded perms={perms} perm="config:write" disabled={!it || !!it.gray} onClick={() => setEditing('gray')}>
            {t('config.publishGray')}
          </Guarded>
          <Guarded
            perms={perms}
            perm="config:write"
            danger
            disabled={!it}
            onClick={() =>
              modal.confirm({
                title: t('config.confirmDelete', { name: dataId }),
                okButtonProps: { danger: true },
                onOk: async () => {
                  try {
                    const r = await must(api.DELETE(configBase, { params: { path } }));
                    if (r.state === 'proposed') {
                      notice(r);
                      reload();
                      return;
                    }
                    void message.success(t('config.deleted', { name: dataId, n: r.number }));
                    navigate('/config');
                  } catch (e) {
                    void message.error((e as Error).message);
                  }
                },
              })
            }
          >
            {t('config.delete')}
          </Guarded>
        </Space>
      </Space>
      {!missing && <ErrorAlert error={item.error} />}
      {missing && (
        <Alert
          type="info"
          showIcon
          title={revisions[0]?.op === 'delete' && revisions[0].state === 'published' ? t('config.wasDeleted', { n: revisions[0].number }) : t('config.notPublished')}
        />
      )}

      {it && (
        <Card size="small">
          <Descriptions size="small" column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t('config.revision')}>
              <span data-testid="current-revision">r{it.revision}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('config.updatedBy')}>{it.updatedBy}</Descriptions.Item>
            <Descriptions.Item label={t('config.updatedAt')}>{when(it.updatedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('config.namespace')}>
              <Typography.Text code>{it.namespace}</Typography.Text>
            </Descriptions.Item>
            {it.md5 && <Descriptions.Item label={t('config.md5')}>{it.md5}</Descriptions.Item>}
            {it.description && <Descriptions.Item label={t('config.description')}>{it.description}</Descriptions.Item>}
            {!!it.tags?.length && <Descriptions.Item label={t('config.tags')}>{it.tags.map((g) => <Tag key={g}>{g}</Tag>)}</Descriptions.Item>}
          </Descriptions>
        </Card>
      )}

      {it?.gray && (
        <Alert
          type="info"
          showIcon
          data-testid="gray-banner"
          title={t('config.grayBanner', { n: it.gray.revision, cohort: describeCohort(it.gray.cohort, t) })}
          action={
            <Space>
              <Guarded
                perms={perms}
                perm="config:write"
                type="primary"
                size="small"
                onClick={() =>
                  modal.confirm({
                    title: t('config.confirmPromote', { n: it.gray?.revision }),
                    onOk: () => act(() => must(api.POST(`${configBase}/gray/promote`, { params: { path } }))),
                  })
                }
              >
                {t('config.promote')}
              </Guarded>
              <Guarded
                perms={perms}
                perm="config:write"
                danger
                size="small"
                onClick={() =>
                  modal.confirm({
                    title: t('config.confirmAbort', { n: it.gray?.revision }),
                    okButtonProps: { danger: true },
                    onOk: () => act(() => must(api.POST(`${configBase}/gray/abort`, { params: { path } }))),
                  })
                }
              >
                {t('config.abortGray')}
              </Guarded>
            </Space>
          }
        />
      )}

      {proposal && (
        <Alert
          type="warning"
          showIcon
          data-testid="proposal-banner"
          title={t('config.proposalBanner', {
            n: proposal.number,
            op: t(`config.ops.${proposal.op}`, { defaultValue: proposal.op }),
            author: proposal.author,
            approvers: (proposal.approvals ?? []).join(', ') || t('common.none'),
          })}
          description={
            proposal.author === user ? t('config.ownProposal') : (proposal.approvals ?? []).includes(user ?? '') ? t('config.alreadyApproved') : undefined
          }
          action={
            <Space orientation="vertical">
              <Button size="small" onClick={() => compare(current || undefined, proposal.number)} disabled={!current}>
                {t('config.compareCurrent')}
              </Button>
              {proposal.author !== user && !(proposal.approvals ?? []).includes(user ?? '') && (
                <Guarded
                  perms={perms}
                  perm="config:approve"
                  type="primary"
                  size="small"
                  onClick={() => act(() => must(api.POST(`${configBase}/revisions/{revision}/approve`, { params: { path: { ...path, revision: String(proposal.number) } } })))}
                >
                  {t('config.approve')}
                </Guarded>
              )}
              <Guarded perms={perms} perm="config:approve" danger size="small" onClick={() => setRejecting(true)}>
                {t('config.reject')}
              </Guarded>
            </Space>
          }
        />
      )}

      <Tabs
        activeKey={tab}
        onChange={setTab}
        items={[
          {
            key: 'content',
            label: t('config.content'),
            children: it ? (
              it.redacted ? (
                <Alert type="warning" showIcon icon={<LockOutlined />} title={t('config.redacted')} data-testid="redacted" />
              ) : (
                <Space orientation="vertical" style={{ width: '100%' }}>
                  <Typography.Text type="secondary">{t('config.lines', { n: (it.content ?? '').split('\n').length })}</Typography.Text>
                  <CodeArea value={it.content ?? ''} readOnly rows={18} aria-label={t('config.content')} />
                </Space>
              )
            ) : (
              <Empty />
            ),
          },
          {
            key: 'history',
            label: t('config.history'),
            children: (
              <Space orientation="vertical" style={{ width: '100%' }}>
                <ErrorAlert error={history.error} />
                <Table<ConfigRevision>
                  size="small"
                  rowKey="number"
                  pagination={false}
                  loading={history.loading && !revisions.length}
                  dataSource={revisions}
                  scroll={{ x: 'max-content' }}
                  onRow={(r) => ({ 'data-testid': `revision-${r.number}` }) as React.HTMLAttributes<HTMLElement>}
                  columns={[
                    { title: '#', dataIndex: 'number', render: (n: number) => <strong>r{n}</strong> },
                    {
                      title: t('config.op'),
                      key: 'op',
                      render: (_, r) => (
                        <span>
                          {t(`config.ops.${r.op}`, { defaultValue: r.op })}
                          {r.from ? <Typography.Text type="secondary"> · {t('config.restores', { n: r.from })}</Typography.Text> : null}
                        </span>
                      ),
                    },
                    {
                      title: t('config.state'),
                      dataIndex: 'state',
                      render: (s: string, r) => (
                        <Space orientation="vertical" size={0}>
                          <Space size={4}>
                            <PhaseTag prefix="config.states" state={s} />
                            {r.number === current && r.state === 'published' && <Tag color="green">{t('config.current')}</Tag>}
                          </Space>
                          {!!r.approvals?.length && (
                            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                              {t('config.approvals')}: {r.approvals.join(', ')}
                            </Typography.Text>
                          )}
                        </Space>
                      ),
                    },
                    { title: t('config.author'), dataIndex: 'author' },
                    { title: t('config.time'), dataIndex: 'time', render: when },
                    { title: t('config.comment'), dataIndex: 'comment' },
                    { title: t('config.ticket'), dataIndex: 'ticket' },
                    {
                      title: t('common.actions'),
                      key: 'actions',
                      render: (_, r) =>
                        r.op === 'delete' ? null : (
                          <Space size={0} wrap>
                            <Button type="link" size="small" onClick={() => setViewing(r.number)}>
                              {t('config.view')}
                            </Button>
                            {current && r.number !== current && (
                              <Button type="link" size="small" onClick={() => compare(Math.min(r.number ?? 0, current), Math.max(r.number ?? 0, current))}>
                                {t('config.compareShort')}
                              </Button>
                            )}
                            {it && r.number !== current && r.state !== 'proposed' && (
                              <Guarded perms={perms} perm="config:write" type="link" size="small" onClick={() => setRollingTo(r.number)}>
                                {t('config.rollback')}
                              </Guarded>
                            )}
                          </Space>
                        ),
                    },
                  ]}
                />
                {history.more && <Button onClick={() => void history.more?.()}>{t('config.more')}</Button>}
              </Space>
            ),
          },
          {
            key: 'compare',
            label: t('config.compare'),
            children: <Compare path={path} revisions={revisions} from={defaultFrom} to={defaultTo} setFrom={setDiffFrom} setTo={setDiffTo} />,
          },
        ]}
      />

      {it && (
        <ConfigEditor
          // A fresh form for each opening, filled from the item as it is now.
          key={editing ? `${editing}-${it.resourceVersion}` : 'closed'}
          env={env}
          item={it}
          gray={editing === 'gray'}
          open={!!editing}
          onClose={(r) => {
            setEditing(undefined);
            notice(r);
            if (r) reload();
          }}
        />
      )}
      <RevisionContent path={path} n={viewing} onClose={() => setViewing(undefined)} />
      <Modal
        open={!!rollingTo}
        title={t('config.rollbackTitle', { n: rollingTo })}
        okText={t('config.rollback')}
        okButtonProps={{ danger: true }}
        onCancel={() => setRollingTo(undefined)}
        onOk={() => rollbackForm.submit()}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">{t('config.rollbackHint', { n: rollingTo, cur: current })}</Typography.Paragraph>
        <Form
          form={rollbackForm}
          layout="vertical"
          onFinish={(v: { comment?: string; ticket?: string }) =>
            act(() => must(api.POST(`${configBase}/rollback`, { params: { path }, body: { to: rollingTo, comment: v.comment || undefined, ticket: v.ticket || undefined } }))).then(() =>
              setRollingTo(undefined),
            )
          }
        >
          <Form.Item name="comment" label={t('config.comment')} rules={[{ required: true }]}>
            <Input />
          </Form.Item>
          <Form.Item name="ticket" label={t('config.ticket')}>
            <Input placeholder="CHG-…" />
          </Form.Item>
        </Form>
      </Modal>
      <Modal
        open={rejecting}
        title={`${t('config.reject')} r${proposal?.number ?? ''}`}
        okButtonProps={{ danger: true }}
        onCancel={() => setRejecting(false)}
        onOk={() => rejectForm.submit()}
        destroyOnHidden
      >
        <Form
          form={rejectForm}
          layout="vertical"
          onFinish={(v: { reason?: string }) =>
            act(() =>
              must(
                api.POST(`${configBase}/revisions/{revision}/reject`, {
                  params: { path: { ...path, revision: String(proposal?.number ?? 0) } },
                  body: { reason: v.reason || undefined },
                }),
              ),
            ).then(() => setRejecting(false))
          }
        >
          <Form.Item name="reason" label={t('config.rejectReason')}>
            <Input />
          </Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}
