// The audit trail: filter, export (CSV or JSON lines) and verify the hash
// chain, which names the first broken record when there is one.
import { Alert, Button, Form, Input, Space, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert } from '../components/errors';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';

type Record = Schemas['AuditRecord'];
interface Filter {
  actor?: string;
  action?: string;
  tenant?: string;
  project?: string;
}

/** Audit lists, exports and verifies the audit trail. */
export default function Audit() {
  const { t } = useTranslation();
  const { scope } = useSession();
  const perms = usePermissions();
  const [filter, setFilter] = useState<Filter>({ tenant: scope.tenant });
  const [report, setReport] = useState<Schemas['VerifyReport']>();
  const [verifyError, setVerifyError] = useState<unknown>();
  const query = Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) as Filter;
  const list = useLoad(() => must(api.GET('/api/v1/audit', { params: { query: { ...query, limit: '200' } } })), [JSON.stringify(query)]);
  useLive('audit', (e) => !query.tenant || e.tenant === query.tenant, list.reload);
  const verify = async () => {
    setVerifyError(undefined);
    setReport(undefined);
    try {
      setReport(await must(api.POST('/api/v1/audit/verify', { body: {} })));
    } catch (e) {
      setVerifyError(e);
    }
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('audit.title')}
        </Typography.Title>
        <Space wrap>
          <Button href={`/api/v1/audit/export?${new URLSearchParams({ ...query, format: 'csv' })}`}>{t('audit.export')} CSV</Button>
          <Button href={`/api/v1/audit/export?${new URLSearchParams({ ...query })}`}>{t('audit.export')} JSON</Button>
          <Guarded perms={perms} perm="audit:verify" type="primary" onClick={verify}>
            {t('audit.verify')}
          </Guarded>
        </Space>
      </Space>
      {report &&
        (report.ok ? (
          <Alert type="success" showIcon data-testid="verify-ok" title={t('audit.ok', { n: report.checked ?? 0 })} />
        ) : (
          <Alert type="error" showIcon data-testid="verify-broken" title={t('audit.broken', { seq: report.broken?.seq, problem: report.broken?.problem })} description={report.broken?.detail} />
        ))}
      <ErrorAlert error={verifyError ?? list.error} />
      <Form layout="inline" initialValues={filter} onFinish={(v: Filter) => setFilter(v)}>
        <Form.Item name="actor" label={t('audit.actor')}>
          <Input allowClear style={{ width: 140 }} />
        </Form.Item>
        <Form.Item name="action" label={t('audit.action')}>
          <Input allowClear style={{ width: 160 }} placeholder="release.start" />
        </Form.Item>
        <Form.Item name="tenant" label={t('scope.tenant')}>
          <Input allowClear style={{ width: 120 }} />
        </Form.Item>
        <Form.Item name="project" label={t('scope.project')}>
          <Input allowClear style={{ width: 120 }} />
        </Form.Item>
        <Button htmlType="submit">{t('common.refresh')}</Button>
      </Form>
      <Table<Record>
        size="small"
        rowKey="seq"
        loading={list.loading && !list.data}
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 'max-content' }}
        columns={[
          { title: t('audit.seq'), dataIndex: 'seq' },
          { title: t('audit.time'), dataIndex: 'time', render: (s: string) => dayjs(s).format('YYYY-MM-DD HH:mm:ss') },
          { title: t('audit.actor'), dataIndex: 'actor' },
          { title: t('audit.action'), dataIndex: 'action' },
          { title: t('audit.target'), dataIndex: 'target' },
          { title: t('audit.outcome'), dataIndex: 'outcome', render: (s: string) => <Tag color={s === 'success' ? 'success' : s === 'denied' ? 'error' : 'default'}>{s}</Tag> },
          { title: t('audit.summary'), dataIndex: 'summary', ellipsis: true, width: 360 },
          { title: t('audit.sourceIP'), dataIndex: 'sourceIP' },
        ]}
      />
    </Space>
  );
}
