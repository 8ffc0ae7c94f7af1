// The config center of an environment: its items (data ID, group, type,
// tags, secret, current revision, gray, pending proposal), filtered, and the
// editor of a new item, kept up to date by the live stream. An item opens on
// its own page (ConfigDetail).
import { LockOutlined, ReloadOutlined } from '@ant-design/icons';
import { App, Button, Empty, Input, Space, Table, Tag, Tooltip, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, must } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert } from '../components/errors';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import type { EnvPath } from './Apps';
import { ConfigEditor, describeCohort, type ConfigItem, type ConfigRevision } from './ConfigEditor';

/** itemPath is the console's address of an item. */
export const itemPath = (it: { group?: string; dataId?: string }) => `/config/${encodeURIComponent(it.group ?? '')}/${encodeURIComponent(it.dataId ?? '')}`;

/** listItems reads every item of env (an environment holds at most 2000). */
async function listItems(env: EnvPath): Promise<ConfigItem[]> {
  const out: ConfigItem[] = [];
  let cont: string | undefined;
  do {
    const page = await must(
      api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/configs', {
        params: { path: env, query: { limit: '1000', continue: cont } },
      }),
    );
    out.push(...(page.items ?? []));
    cont = page.continue || undefined;
  } while (cont);
  return out;
}

/** useRevisionNotice tells the user what became of a revision they made. */
export function useRevisionNotice() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  return (r?: ConfigRevision) => {
    if (!r) return;
    const key = r.state === 'proposed' ? 'config.proposed' : r.state === 'gray' ? 'config.grayed' : 'config.published';
    void message.success(t(key, { n: r.number }));
  };
}

/** Config lists the config items of the chosen environment. */
export default function Config() {
  const { t } = useTranslation();
  const { scope } = useSession();
  const navigate = useNavigate();
  const notice = useRevisionNotice();
  const perms = usePermissions(scope.tenant, scope.project);
  const [creating, setCreating] = useState(false);
  const [filter, setFilter] = useState('');
  const env = scope.tenant && scope.project && scope.environment ? (scope as EnvPath) : undefined;
  const items = useLoad(() => (env ? listItems(env) : undefined), [env?.tenant, env?.project, env?.environment]);
  useLive('configs', (e) => e.tenant === env?.tenant && e.project === env?.project && e.environment === env?.environment, items.reload);
  if (!env) return <Empty description={t('common.chooseEnvironment')} />;
  const f = filter.trim().toLowerCase();
  const shown = (items.data ?? []).filter(
    (i) => !f || [i.dataId, i.group, ...(i.tags ?? [])].some((s) => s?.toLowerCase().includes(f)),
  );
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Space orientation="vertical" size={0}>
          <Typography.Title level={4} style={{ margin: 0 }}>
            {t('config.title')} · {env.environment}
          </Typography.Title>
          <Typography.Text type="secondary">
            {t('config.namespace')}: <Typography.Text code copyable>{`${env.tenant}.${env.project}.${env.environment}`}</Typography.Text>
          </Typography.Text>
        </Space>
        <Space>
          <Input.Search allowClear placeholder={t('config.filter')} aria-label={t('config.filter')} onChange={(e) => setFilter(e.target.value)} style={{ width: 280 }} />
          <Button icon={<ReloadOutlined />} onClick={items.reload} aria-label={t('common.refresh')} />
          <Guarded perms={perms} perm="config:write" type="primary" onClick={() => setCreating(true)}>
            {t('config.newItem')}
          </Guarded>
        </Space>
      </Space>
      <ErrorAlert error={items.error} />
      <Table<ConfigItem>
        rowKey={(i) => `${i.group}/${i.dataId}`}
        size="middle"
        loading={items.loading && !items.data}
        dataSource={shown}
        locale={{ emptyText: <Empty description={t('config.noItems')} /> }}
        scroll={{ x: 'max-content' }}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        onRow={(i) => ({ 'data-testid': `config-${i.dataId}` }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('config.dataId'),
            dataIndex: 'dataId',
            sorter: (a, b) => (a.dataId ?? '').localeCompare(b.dataId ?? ''),
            render: (_, i) => (
              <Space size={4}>
                <Link to={itemPath(i)}>{i.dataId}</Link>
                {i.secret && (
                  <Tooltip title={t('config.secretHint')}>
                    <Tag icon={<LockOutlined />} color="purple" data-testid="secret">
                      {t('config.secret')}
                    </Tag>
                  </Tooltip>
                )}
              </Space>
            ),
          },
          { title: t('config.group'), dataIndex: 'group', sorter: (a, b) => (a.group ?? '').localeCompare(b.group ?? '') },
          { title: t('config.type'), dataIndex: 'type', render: (s: string) => <Tag>{s}</Tag> },
          { title: t('config.tags'), dataIndex: 'tags', render: (tags?: string[]) => (tags ?? []).map((g) => <Tag key={g}>{g}</Tag>) },
          { title: t('config.revision'), dataIndex: 'revision', render: (n?: number) => <span data-testid="revision">{n ? `r${n}` : '—'}</span> },
          {
            title: t('config.gray'),
            key: 'gray',
            render: (_, i) =>
              i.gray ? (
                <Tooltip title={describeCohort(i.gray.cohort, t)}>
                  <Tag color="processing" data-testid="gray">
                    r{i.gray.revision}
                  </Tag>
                </Tooltip>
              ) : null,
          },
          {
            title: t('config.proposal'),
            key: 'proposal',
            render: (_, i) =>
              i.proposal ? (
                <Tag color="gold" data-testid="proposal">
                  r{i.proposal}
                </Tag>
              ) : null,
          },
          { title: t('config.updatedBy'), dataIndex: 'updatedBy' },
          {
            title: t('config.updatedAt'),
            dataIndex: 'updatedAt',
            sorter: (a, b) => (a.updatedAt ?? '').localeCompare(b.updatedAt ?? ''),
            render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm:ss') : ''),
          },
        ]}
      />
      <ConfigEditor
        env={env}
        open={creating}
        onClose={(r) => {
          setCreating(false);
          notice(r);
          if (r) navigate(itemPath(r));
        }}
      />
    </Space>
  );
}
