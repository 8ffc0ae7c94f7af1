// The editor of a config item's next revision: a new item, a new revision
// of an existing one, or a revision for a gray cohort (application versions,
// org units, client IPs, connection labels). The server validates the
// content by its type; its reason (naming the line) shows under the editor
// and the line is marked.
import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, Button, Checkbox, Form, Input, Modal, Select, Space, Tooltip, TreeSelect, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, isApiError, must, type Schemas } from '../api/client';
import { CodeArea, errorLine } from '../components/CodeArea';
import { ErrorAlert, fieldName, showFieldErrors } from '../components/errors';
import { orgTree, picked } from '../components/orgTree';
import { useLoad } from '../load';
import type { EnvPath } from './Apps';

export type ConfigItem = Schemas['ConfigItemView'];
export type ConfigRevision = Schemas['ConfigRevisionView'];
type Cohort = NonNullable<Schemas['ConfigPublishRequest']['cohort']>;

export const configTypes = ['text', 'yaml', 'properties', 'json'];
export const configBase = '/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/configs/{group}/{dataid}' as const;

/** describeCohort says who a gray revision is served to. */
export function describeCohort(c: Cohort | undefined, t: (k: string) => string): string {
  if (!c) return '—';
  const parts = [
    c.versions?.length && `${t('config.versions')} ${c.versions.map((v) => `${v.app}:${v.version}`).join(', ')}`,
    c.regions?.length && `${t('config.regions')} ${c.regions.join(', ')}`,
    c.branches?.length && `${t('config.branches')} ${c.branches.join(', ')}`,
    c.tellers?.length && `${t('config.tellers')} ${c.tellers.join(', ')}`,
    c.ips?.length && `IP ${c.ips.join(', ')}`,
    c.labels && Object.keys(c.labels).length && `${t('config.labels')} ${Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`,
  ].filter(Boolean);
  return parts.join(' · ') || '—';
}

/** One application version of the cohort: the version list follows the application chosen. */
function VersionRow({ env, name, remove }: { env: EnvPath; name: number; remove: () => void }) {
  const { t } = useTranslation();
  const form = Form.useFormInstance();
  const app = Form.useWatch(['versions', name, 'app'], form) as string | undefined;
  const apps = useLoad(() => must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications', { params: { path: env, query: { limit: '500' } } })), [env.tenant, env.project]);
  const versions = useLoad(
    () => (app ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications/{app}/versions', { params: { path: { ...env, app }, query: { limit: '500' } } })) : undefined),
    [env.tenant, env.project, app],
  );
  return (
    <Space align="baseline" wrap>
      <Form.Item name={[name, 'app']} rules={[{ required: true }]}>
        <Select
          aria-label={`${t('config.app')} ${name + 1}`}
          placeholder={t('config.app')}
          style={{ width: 200 }}
          showSearch
          options={(apps.data?.items ?? []).map((a) => ({ value: a.name, label: a.name }))}
        />
      </Form.Item>
      <Form.Item name={[name, 'version']} rules={[{ required: true }]}>
        <Select
          aria-label={`${t('config.version')} ${name + 1}`}
          placeholder={t('config.version')}
          style={{ width: 160 }}
          showSearch
          options={(versions.data?.items ?? []).map((v) => ({ value: v.name, label: v.name }))}
        />
      </Form.Item>
      <MinusCircleOutlined aria-label="remove version" onClick={remove} />
    </Space>
  );
}

interface Values {
  dataId: string;
  group: string;
  type: string;
  description?: string;
  tags?: string[];
  secret?: boolean;
  content?: string;
  comment?: string;
  ticket?: string;
  versions?: { app: string; version: string }[];
  units?: string[];
  ips?: string[];
  labels?: string[];
}

function cohortOf(v: Values): Cohort {
  const of = (level: string) => picked(v.units ?? [], level);
  const labels: Record<string, string> = {};
  for (const l of v.labels ?? []) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return {
    versions: v.versions?.length ? v.versions : undefined,
    regions: of('region').length ? of('region') : undefined,
    branches: of('branch').length ? of('branch') : undefined,
    tellers: of('teller').length ? of('teller') : undefined,
    ips: v.ips?.length ? v.ips : undefined,
    labels: Object.keys(labels).length ? labels : undefined,
  };
}

/**
 * ConfigEditor publishes the next revision of item (a new item when item is
 * undefined), to everyone or, with gray, to a cohort. onClose receives the
 * revision the server made.
 */
export function ConfigEditor({ env, item, gray, open, onClose }: { env: EnvPath; item?: ConfigItem; gray?: boolean; open: boolean; onClose: (r?: ConfigRevision) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const [error, setError] = useState<unknown>();
  const [mark, setMark] = useState<number>();
  const org = useLoad(() => (open && gray ? must(api.GET('/api/v1/tenants/{tenant}/org', { params: { path: { tenant: env.tenant } } })) : undefined), [open, gray, env.tenant]);
  const tree = useMemo(() => orgTree(org.data?.items ?? []), [org.data]);
  const secret = Form.useWatch('secret', form);
  const submit = async (v: Values) => {
    setError(undefined);
    setMark(undefined);
    try {
      const rev = await must(
        api.PUT(configBase, {
          params: { path: { ...env, group: item?.group ?? v.group, dataid: item?.dataId ?? v.dataId } },
          body: {
            type: v.type,
            description: v.description ?? '',
            tags: v.tags ?? [],
            secret: v.secret || undefined,
            content: v.content ?? '',
            comment: v.comment || undefined,
            ticket: v.ticket || undefined,
            // Publishing over a change made meanwhile is refused (409), not lost.
            casMd5: item?.md5 || undefined,
            cohort: gray ? cohortOf(v) : undefined,
          },
        }),
      );
      form.resetFields();
      onClose(rev);
    } catch (e) {
      if (isApiError(e)) setMark(errorLine(e.fields?.find((f) => fieldName(f.path ?? '')[0] === 'content')?.reason));
      setError(showFieldErrors(form, e, ['dataId', 'group', 'type', 'description', 'tags', 'content', 'comment', 'ticket']));
    }
  };
  const title = !item ? t('config.newItem') : `${gray ? t('config.publishGray') : t('config.edit')} · ${item.dataId}`;
  return (
    <Modal open={open} width={880} title={title} onCancel={() => onClose()} onOk={() => form.submit()} okText={t('config.publish')} destroyOnHidden>
      <Form
        form={form}
        layout="vertical"
        onFinish={submit}
        onValuesChange={(changed) => 'content' in changed && setMark(undefined)}
        initialValues={{
          dataId: item?.dataId,
          group: item?.group ?? 'DEFAULT_GROUP',
          type: item?.type ?? 'yaml',
          description: item?.description,
          tags: item?.tags ?? [],
          secret: item?.secret,
          content: item?.content ?? '',
          versions: gray ? [{}] : undefined,
        }}
      >
        <Space wrap align="start">
          <Form.Item name="dataId" label={t('config.dataId')} rules={[{ required: true }]}>
            <Input style={{ width: 260 }} disabled={!!item} placeholder="red-auth.yaml" />
          </Form.Item>
          <Form.Item name="group" label={t('config.group')} rules={[{ required: true }]}>
            <Input style={{ width: 180 }} disabled={!!item} />
          </Form.Item>
          <Form.Item name="type" label={t('config.type')}>
            <Select style={{ width: 130 }} options={configTypes.map((v) => ({ value: v, label: v }))} />
          </Form.Item>
          <Form.Item name="secret" valuePropName="checked" label=" ">
            <Checkbox disabled={item?.secret}>
              <Tooltip title={t('config.secretHint')}>{t('config.secret')}</Tooltip>
            </Checkbox>
          </Form.Item>
        </Space>
        <Space wrap align="start">
          <Form.Item name="description" label={t('config.description')}>
            <Input style={{ width: 380 }} />
          </Form.Item>
          <Form.Item name="tags" label={t('config.tags')}>
            <Select mode="tags" style={{ width: 380 }} aria-label={t('config.tags')} tokenSeparators={[',', ' ']} open={false} />
          </Form.Item>
        </Space>
        {item?.redacted && <Alert type="warning" showIcon style={{ marginBottom: 12 }} title={t('config.redacted')} />}
        <Form.Item name="content" label={t('config.content')} extra={secret ? t('config.secretHint') : undefined}>
          <CodeArea mark={mark} aria-label={t('config.content')} rows={14} />
        </Form.Item>
        {gray && (
          <div style={{ border: '1px dashed #d9d9d9', borderRadius: 6, padding: 12, marginBottom: 12 }} data-testid="cohort">
            <Typography.Text strong>{t('config.cohort')}</Typography.Text>{' '}
            <Typography.Text type="secondary">{t('config.cohortHint')}</Typography.Text>
            <div style={{ marginTop: 8 }}>{t('config.versions')}</div>
            <Form.List name="versions">
              {(rows, { add, remove }) => (
                <>
                  {rows.map((r) => (
                    <VersionRow key={r.key} env={env} name={r.name} remove={() => remove(r.name)} />
                  ))}
                  <Button type="dashed" size="small" icon={<PlusOutlined />} onClick={() => add({})} style={{ marginBottom: 12 }}>
                    {t('config.addVersion')}
                  </Button>
                </>
              )}
            </Form.List>
            <Form.Item name="units" label={t('config.orgUnits')}>
              <TreeSelect treeData={tree} multiple treeDefaultExpandAll showSearch treeNodeFilterProp="title" aria-label={t('config.orgUnits')} />
            </Form.Item>
            <Space wrap>
              <Form.Item name="ips" label={t('config.ips')}>
                <Select mode="tags" style={{ width: 300 }} aria-label={t('config.ips')} tokenSeparators={[',', ' ']} open={false} />
              </Form.Item>
              <Form.Item name="labels" label={t('config.labels')}>
                <Select mode="tags" style={{ width: 420 }} aria-label={t('config.labels')} tokenSeparators={[',', ' ']} open={false} placeholder="zone=bj-a" />
              </Form.Item>
            </Space>
          </div>
        )}
        <Space wrap align="start">
          <Form.Item name="comment" label={t('config.comment')}>
            <Input style={{ width: 480 }} />
          </Form.Item>
          <Form.Item name="ticket" label={t('config.ticket')}>
            <Input style={{ width: 200 }} placeholder="CHG-…" />
          </Form.Item>
        </Space>
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}
