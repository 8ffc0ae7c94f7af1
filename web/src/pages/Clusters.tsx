// Registered clusters and whether Berth reaches each (Unknown when away).
import { Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { ErrorAlert } from '../components/errors';
import { PhaseTag } from '../components/phase';
import { useLoad } from '../load';

/** Clusters lists the clusters. */
export default function Clusters() {
  const { t } = useTranslation();
  const list = useLoad(() => must(api.GET('/api/v1/clusters', { params: { query: { limit: '500' } } })), []);
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Typography.Title level={4} style={{ margin: 0 }}>{t('clusters.title')}</Typography.Title>
      <ErrorAlert error={list.error} />
      <Table<Schemas['ClusterView']>
        size="small"
        rowKey="name"
        dataSource={list.data?.items ?? []}
        pagination={false}
        columns={[
          { title: t('common.name'), dataIndex: 'name' },
          { title: t('common.displayName'), dataIndex: 'displayName' },
          { title: t('clusters.zone'), dataIndex: 'zone' },
          { title: t('common.status'), key: 's', render: (_, c) => <><PhaseTag prefix="clusters.phase" state={c.status?.phase} /> {c.status?.reason}</> },
          { title: 'labels', key: 'l', render: (_, c) => Object.entries(c.labels ?? {}).map(([k, v]) => <Tag key={k}>{`${k}=${v}`}</Tag>) },
        ]}
      />
    </Space>
  );
}
