// The caller's API tokens: create (the secret is shown once), list, revoke.
import { Alert, App, Button, Form, Input, Modal, Space, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { useLoad } from '../load';

/** Tokens manages the caller's own API tokens. */
export default function Tokens() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Schemas['TokenCreated']>();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const list = useLoad(() => must(api.GET('/api/v1/tokens', { params: { query: { limit: '500' } } })), []);
  const revoke = async (id: string) => {
    try {
      await must(api.DELETE('/api/v1/tokens/{id}', { params: { path: { id } } }));
      list.reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>{t('tokens.title')}</Typography.Title>
        <Button type="primary" onClick={() => setCreating(true)}>{t('tokens.newToken')}</Button>
      </Space>
      {created && (
        <Alert type="success" showIcon closable onClose={() => setCreated(undefined)} title={t('tokens.secretOnce')} description={<Typography.Text code copyable data-testid="secret">{created.secret}</Typography.Text>} />
      )}
      <ErrorAlert error={list.error} />
      <Table<Schemas['Token']>
        size="small"
        rowKey="id"
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        columns={[
          { title: 'ID', dataIndex: 'id' },
          { title: t('common.name'), dataIndex: 'name' },
          { title: t('common.createdAt'), dataIndex: 'createdAt', render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm') : '') },
          { title: t('tokens.expiresAt'), dataIndex: 'expiresAt', render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm') : '') },
          { title: t('common.status'), key: 's', render: (_, k) => (k.revokedAt ? <Tag>{t('tokens.revoked')}</Tag> : <Tag color="success">OK</Tag>) },
          { title: t('common.actions'), key: 'a', render: (_, k) => !k.revokedAt && <Button size="small" danger onClick={() => revoke(k.id ?? '')}>{t('tokens.revoke')}</Button> },
        ]}
      />
      <Modal open={creating} title={t('tokens.newToken')} onCancel={() => setCreating(false)} onOk={() => form.submit()} destroyOnHidden>
        <Form
          form={form}
          layout="vertical"
          onFinish={async (v: { name: string; ttl?: string }) => {
            setError(undefined);
            try {
              setCreated(await must(api.POST('/api/v1/tokens', { body: { name: v.name, ttl: v.ttl || undefined } })));
              setCreating(false);
              list.reload();
            } catch (e) {
              setError(showFieldErrors(form, e, ['name', 'ttl']));
            }
          }}
        >
          <Form.Item name="name" label={t('common.name')} rules={[{ required: true }]}><Input /></Form.Item>
          <Form.Item name="ttl" label={t('tokens.ttl')}><Input placeholder="720h" /></Form.Item>
          <ErrorAlert error={error} />
        </Form>
      </Modal>
    </Space>
  );
}
