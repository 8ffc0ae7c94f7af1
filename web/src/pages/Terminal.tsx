// The guarded terminal from the console: run one line in a restricted
// session of its own (the caller's TerminalPolicy decides; a refusal shows
// the policy's reason), and the sessions of the tenant with their
// recordings replayed by asciinema-player.
import { Alert, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { lazy, Suspense, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert } from '../components/errors';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import { listDeployments } from './Apps';

const Replay = lazy(() => import('../components/Replay').then((m) => ({ default: m.Replay })));
const LiveTerminal = lazy(() => import('../components/LiveTerminal').then((m) => ({ default: m.LiveTerminal })));

type Session = Schemas['TerminalSession'];
type Result = Schemas['TerminalExecResult'];
interface RunForm {
  app: string;
  pod?: string;
  line: string;
}

const time = (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm:ss') : '');

/** RunCommand runs one line of the caller's restricted terminal policy in a pod of an application. */
function RunCommand({ onRan }: { onRan: () => void }) {
  const { t } = useTranslation();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant, scope.project);
  const [form] = Form.useForm<RunForm>();
  const [result, setResult] = useState<Result>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const [live, setLive] = useState<{ app: string; pod?: string; key: number }>();
  const env = scope.tenant && scope.project && scope.environment ? { tenant: scope.tenant, project: scope.project, environment: scope.environment } : undefined;
  const deployments = useLoad(() => (env ? listDeployments(env) : undefined), [env?.tenant, env?.project, env?.environment]);
  if (!env) return <Alert type="info" showIcon title={t('common.chooseEnvironment')} />;
  const run = async (v: RunForm) => {
    setRunning(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(
        await must(
          api.POST('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/exec', {
            params: { path: { ...env, app: v.app } },
            body: { line: v.line, pod: v.pod || undefined },
          }),
        ),
      );
      onRan();
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };
  const cmd = result?.command;
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Typography.Text type="secondary">{t('terminal.hint')}</Typography.Text>
      <Form form={form} layout="inline" onFinish={run}>
        <Form.Item name="app" label={t('terminal.application')} rules={[{ required: true }]}>
          <Select
            data-testid="terminal-app"
            showSearch
            style={{ width: 180 }}
            options={(deployments.data?.items ?? []).map((d) => ({ value: d.application ?? '', label: d.application }))}
          />
        </Form.Item>
        <Form.Item name="pod" label={t('terminal.pod')}>
          <Input style={{ width: 160 }} allowClear />
        </Form.Item>
        <Form.Item name="line" label={t('terminal.line')} rules={[{ required: true }]}>
          <Input style={{ width: 420, fontFamily: 'monospace' }} placeholder="tail -n 100 /var/log/app.log | grep ERROR" />
        </Form.Item>
        <Space>
          <Guarded perms={perms} perm="terminal:open" type="primary" htmlType="submit" loading={running}>
            {t('terminal.runButton')}
          </Guarded>
          <Guarded
            perms={perms}
            perm="terminal:open"
            onClick={async () => {
              const v = await form.validateFields(['app']).catch(() => undefined);
              if (v) setLive({ app: form.getFieldValue('app'), pod: form.getFieldValue('pod') || undefined, key: Date.now() });
            }}
          >
            {t('terminal.openTerminal')}
          </Guarded>
        </Space>
      </Form>
      {live && (
        <Card
          size="small"
          title={`${t('terminal.interactive')}: ${live.app}`}
          extra={<Button size="small" onClick={() => { setLive(undefined); onRan(); }}>{t('terminal.closeTerminal')}</Button>}
        >
          <Suspense fallback={<div>{t('common.loading')}</div>}>
            <LiveTerminal key={live.key} {...env} app={live.app} pod={live.pod} mode="restricted" onEnded={onRan} />
          </Suspense>
        </Card>
      )}
      <ErrorAlert error={error} />
      {cmd &&
        (cmd.allowed ? (
          <Tag data-testid="exit-code" color={cmd.exitCode === 0 ? 'success' : 'error'}>
            {cmd.exitCode === -1 ? t('terminal.failed') : t('terminal.exitCode', { code: cmd.exitCode })}
          </Tag>
        ) : (
          <Alert
            type="error"
            showIcon
            data-testid="refusal"
            title={`${t('terminal.refused')}: ${cmd.reason ? t(`terminal.reasons.${cmd.reason}`, { defaultValue: cmd.reason }) : ''}`}
            description={cmd.detail}
          />
        ))}
      {result && (
        <pre
          data-testid="exec-output"
          style={{ background: '#141414', color: '#e8e8e8', padding: 12, maxHeight: 400, overflow: 'auto', whiteSpace: 'pre-wrap', margin: 0 }}
        >
          {result.output}
        </pre>
      )}
    </Space>
  );
}

/** Terminal runs restricted commands and lists and replays terminal sessions. */
export default function Terminal() {
  const { t } = useTranslation();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant);
  const canRead = perms?.has('terminal-session:read') ?? false;
  const [replay, setReplay] = useState<{ id: string; cast?: string; error?: unknown }>();
  const list = useLoad(
    () =>
      canRead
        ? must(api.GET('/api/v1/terminal-sessions', { params: { query: { ...(scope.tenant ? { tenant: scope.tenant } : {}), limit: '200' } } }))
        : undefined,
    [scope.tenant, canRead],
  );
  const open = async (id: string) => {
    setReplay({ id });
    try {
      const cast = await must(api.GET('/api/v1/terminal-sessions/{id}/recording', { params: { path: { id } }, parseAs: 'text' }));
      setReplay({ id, cast: cast as unknown as string });
    } catch (e) {
      setReplay({ id, error: e });
    }
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Typography.Title level={4} style={{ margin: 0 }}>
        {t('terminal.title')}
      </Typography.Title>
      <Card size="small" title={t('terminal.run')}>
        <RunCommand onRan={list.reload} />
      </Card>
      <Card size="small" title={t('terminal.sessions')} extra={<Button size="small" onClick={list.reload}>{t('common.refresh')}</Button>}>
        <ErrorAlert error={list.error} />
        {perms && !canRead && <Alert type="info" showIcon title={t('common.noPermission', { perm: 'terminal-session:read' })} />}
        <Table<Session>
          size="small"
          rowKey="id"
          loading={list.loading && !list.data}
          dataSource={list.data?.items ?? []}
          pagination={{ pageSize: 50, hideOnSinglePage: true }}
          scroll={{ x: 'max-content' }}
          columns={[
            { title: t('terminal.user'), dataIndex: 'user' },
            { title: t('terminal.application'), render: (_, s) => `${s.target?.tenant}/${s.target?.project}/${s.target?.environment}/${s.target?.application}` },
            { title: 'Pod', render: (_, s) => `${s.target?.pod}/${s.target?.container}` },
            { title: t('terminal.mode'), dataIndex: 'mode', render: (m: string) => <Tag>{m}</Tag> },
            { title: t('terminal.startedAt'), dataIndex: 'startedAt', render: time },
            { title: t('terminal.endedAt'), dataIndex: 'endedAt', render: (s?: string) => (s ? time(s) : <Tag color="processing">{t('terminal.open')}</Tag>) },
            { title: t('terminal.commands'), dataIndex: 'commands' },
            { title: t('terminal.refusedCount'), dataIndex: 'refused', render: (n: number) => (n ? <Tag color="error">{n}</Tag> : n) },
            {
              title: t('common.actions'),
              render: (_, s) => (
                <Button size="small" disabled={!s.endedAt} onClick={() => void open(s.id ?? '')}>
                  {t('terminal.replay')}
                </Button>
              ),
            },
          ]}
        />
      </Card>
      <Modal open={!!replay} width={900} footer={null} destroyOnHidden onCancel={() => setReplay(undefined)} title={t('terminal.recording', { id: replay?.id })}>
        <ErrorAlert error={replay?.error} />
        {replay?.cast && (
          <Suspense fallback={<div>{t('common.loading')}</div>}>
            <Replay cast={replay.cast} />
          </Suspense>
        )}
      </Modal>
    </Space>
  );
}
