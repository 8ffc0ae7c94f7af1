// Users of the platform (platform admins create, disable and delete them).
import { App, Form, Input, Modal, Space, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { useLoad } from '../load';
import { usePermissions } from '../session';

/** Users lists and creates users. */
export default function Users() {
  const { t } = useTranslation();
  const { modal, message } = App.useApp();
  const perms = usePermissions();
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const list = useLoad(() => must(api.GET('/api/v1/users', { params: { query: { limit: '500' } } })), []);
  const remove = (u: Schemas['User']) =>
    modal.confirm({
      title: `${t('common.delete')} ${u.name}?`,
      okButtonProps: { danger: true },
      onOk: async () => {
        try {
          await must(api.DELETE('/api/v1/users/{user}', { params: { path: { user: u.name ?? '' } } }));
          list.reload();
        } catch (e) {
          message.error((e as Error).message);
        }
      },
    });
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>{t('users.title')}</Typography.Title>
        <Guarded perms={perms} perm="user:create" type="primary" onClick={() => setCreating(true)}>{t('users.newUser')}</Guarded>
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Schemas['User']>
        size="small"
        rowKey="name"
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        columns={[
          { title: t('common.name'), dataIndex: 'name' },
          { title: t('common.displayName'), dataIndex: 'displayName' },
          { title: t('users.email'), dataIndex: 'email' },
          { title: t('common.status'), dataIndex: 'disabled', render: (d: boolean) => (d ? <Tag>{t('users.disabled')}</Tag> : <Tag color="success">OK</Tag>) },
          { title: t('common.createdAt'), dataIndex: 'createdAt', render: (s?: string) => (s ? dayjs(s).format('YYYY-MM-DD HH:mm') : '') },
          { title: t('common.actions'), key: 'a', render: (_, u) => <Guarded perms={perms} perm="user:delete" size="small" danger onClick={() => remove(u)}>{t('common.delete')}</Guarded> },
        ]}
      />
      <Modal open={creating} title={t('users.newUser')} onCancel={() => setCreating(false)} onOk={() => form.submit()} destroyOnHidden>
        <Form
          form={form}
          layout="vertical"
          onFinish={async (v: Schemas['UserRequest']) => {
            setError(undefined);
            try {
              await must(api.POST('/api/v1/users', { body: v }));
              setCreating(false);
              list.reload();
            } catch (e) {
              setError(showFieldErrors(form, e, ['name', 'displayName', 'email', 'password']));
            }
          }}
        >
          <Form.Item name="name" label={t('common.name')} rules={[{ required: true }]}><Input autoComplete="off" /></Form.Item>
          <Form.Item name="displayName" label={t('common.displayName')}><Input /></Form.Item>
          <Form.Item name="email" label={t('users.email')}><Input type="email" /></Form.Item>
          <Form.Item name="password" label={t('users.password')}><Input.Password autoComplete="new-password" /></Form.Item>
          <ErrorAlert error={error} />
        </Form>
      </Modal>
    </Space>
  );
}
