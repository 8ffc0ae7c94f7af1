// Log search: the lines of an application's pods that match a text or a
// regular expression, from a time, of one version or one pod, searched on
// the server (every search is audited); or followed as they are written.
import { Alert, Button, Checkbox, Form, Input, InputNumber, Select, Space, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert } from '../components/errors';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import { listDeployments } from './Apps';

type Line = NonNullable<Schemas['LogSearchResult']['lines']>[number];
interface SearchForm {
  app: string;
  version?: string;
  pod?: string;
  since?: string;
  grep?: string;
  regexp?: boolean;
  ignoreCase?: boolean;
  tail?: number;
  limit?: number;
}

/** At most this many followed lines are kept on the page (the oldest go). */
const maxFollowed = 2000;

function query(v: SearchForm): Record<string, string> {
  const q: Record<string, string> = {};
  for (const k of ['version', 'pod', 'since', 'grep'] as const) if (v[k]) q[k] = v[k] as string;
  if (v.regexp) q.regexp = 'true';
  if (v.ignoreCase) q.ignoreCase = 'true';
  if (v.tail) q.tail = String(v.tail);
  if (v.limit) q.limit = String(v.limit);
  return q;
}

/** Logs searches and follows the logs of an application's pods. */
export default function Logs() {
  const { t } = useTranslation();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant, scope.project);
  const [form] = Form.useForm<SearchForm>();
  const [lines, setLines] = useState<Line[]>();
  const [result, setResult] = useState<{ pods: number; truncated: boolean }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [following, setFollowing] = useState(false);
  const source = useRef<EventSource | undefined>(undefined);
  const env = scope.tenant && scope.project && scope.environment ? { tenant: scope.tenant, project: scope.project, environment: scope.environment } : undefined;
  const deployments = useLoad(() => (env ? listDeployments(env) : undefined), [env?.tenant, env?.project, env?.environment]);
  const stop = () => {
    source.current?.close();
    source.current = undefined;
    setFollowing(false);
  };
  useEffect(() => stop, []);
  if (!env) return <Alert type="info" showIcon title={t('common.chooseEnvironment')} />;

  const search = async (v: SearchForm) => {
    stop();
    setBusy(true);
    setError(undefined);
    try {
      const r = (await must(
        api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/logs', {
          params: { path: { ...env, app: v.app }, query: query(v) },
        }),
      )) as Schemas['LogSearchResult'];
      setLines(r.lines ?? []);
      setResult({ pods: r.pods ?? 0, truncated: r.truncated ?? false });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const follow = async () => {
    const v = await form.validateFields().catch(() => undefined);
    if (!v) return;
    stop();
    setError(undefined);
    setLines([]);
    setResult(undefined);
    const path = `/api/v1/tenants/${encodeURIComponent(env.tenant)}/projects/${encodeURIComponent(env.project)}/environments/${encodeURIComponent(env.environment)}/deployments/${encodeURIComponent(v.app)}/logs`;
    const es = new EventSource(`${path}?${new URLSearchParams({ ...query(v), follow: 'true' })}`);
    source.current = es;
    setFollowing(true);
    es.addEventListener('line', (e) => {
      const l = JSON.parse((e as MessageEvent<string>).data) as Line;
      setLines((prev) => [...(prev ?? []), l].slice(-maxFollowed));
    });
    // The stream ends when every pod's log does (or the server refuses): stop, not reconnect.
    es.onerror = () => stop();
  };

  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Typography.Title level={4} style={{ margin: 0 }}>
        {t('logs.title')}
      </Typography.Title>
      <Typography.Text type="secondary">{t('logs.hint')}</Typography.Text>
      <Form form={form} layout="inline" onFinish={search}>
        <Form.Item name="app" label={t('logs.application')} rules={[{ required: true }]}>
          <Select
            data-testid="logs-app"
            showSearch
            style={{ width: 180 }}
            options={(deployments.data?.items ?? []).map((d) => ({ value: d.application ?? '', label: d.application }))}
          />
        </Form.Item>
        <Form.Item name="version" label={t('logs.version')}>
          <Input style={{ width: 100 }} allowClear />
        </Form.Item>
        <Form.Item name="pod" label={t('logs.pod')}>
          <Input style={{ width: 160 }} allowClear />
        </Form.Item>
        <Form.Item name="since" label={t('logs.since')}>
          <Select
            style={{ width: 120 }}
            allowClear
            options={['15m', '1h', '6h', '24h', '168h'].map((d) => ({ value: d, label: t(`logs.ago.${d}`) }))}
          />
        </Form.Item>
        <Form.Item name="grep" label={t('logs.grep')}>
          <Input style={{ width: 240, fontFamily: 'monospace' }} allowClear placeholder="ERROR" />
        </Form.Item>
        <Form.Item name="regexp" valuePropName="checked">
          <Checkbox>{t('logs.regexp')}</Checkbox>
        </Form.Item>
        <Form.Item name="ignoreCase" valuePropName="checked">
          <Checkbox>{t('logs.ignoreCase')}</Checkbox>
        </Form.Item>
        <Form.Item name="tail" label={t('logs.tail')}>
          <InputNumber min={1} max={10000} style={{ width: 100 }} />
        </Form.Item>
        <Form.Item name="limit" label={t('logs.limit')}>
          <InputNumber min={1} max={10000} style={{ width: 100 }} placeholder="1000" />
        </Form.Item>
        <Space>
          <Guarded perms={perms} perm="log:read" type="primary" htmlType="submit" loading={busy}>
            {t('logs.search')}
          </Guarded>
          {following ? (
            <Button onClick={stop}>{t('logs.stop')}</Button>
          ) : (
            <Guarded perms={perms} perm="log:read" onClick={follow}>
              {t('logs.follow')}
            </Guarded>
          )}
        </Space>
      </Form>
      <ErrorAlert error={error ?? deployments.error} />
      {result && (
        <Typography.Text data-testid="logs-summary" type="secondary">
          {t('logs.summary', { lines: lines?.length ?? 0, pods: result.pods })}
        </Typography.Text>
      )}
      {result?.truncated && <Alert type="warning" showIcon data-testid="logs-truncated" title={t('logs.truncated')} />}
      {following && <Tag color="processing">{t('logs.following')}</Tag>}
      {lines && (
        <Table<Line>
          size="small"
          data-testid="logs-lines"
          rowKey={(l) => `${l.pod}/${l.container}/${l.time}/${l.text}`}
          dataSource={lines}
          pagination={{ pageSize: 200, showSizeChanger: false }}
          columns={[
            { title: t('logs.time'), dataIndex: 'time', width: 190, render: (s: string) => dayjs(s).format('YYYY-MM-DD HH:mm:ss.SSS') },
            { title: t('logs.pod'), dataIndex: 'pod', width: 200 },
            { title: t('logs.version'), dataIndex: 'version', width: 90, render: (v: string) => <Tag>{v}</Tag> },
            { title: t('logs.text'), dataIndex: 'text', render: (s: string) => <Typography.Text code style={{ whiteSpace: 'pre-wrap' }}>{s}</Typography.Text> },
          ]}
        />
      )}
    </Space>
  );
}
