// Apply a berth.dev/v1 YAML manifest (all documents or none), as `berth apply -f` does.
import { Input, Modal, Table } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { ErrorAlert } from './errors';

/** ApplyManifest is a dialog that applies pasted YAML. */
export function ApplyManifest({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<Schemas['ApplyResult']>();
  const apply = async () => {
    setError(undefined);
    try {
      setResult(
        await must(
          api.POST('/api/v1/apply', {
            body: text as never,
            bodySerializer: (b: unknown) => b as string,
            headers: { 'Content-Type': 'application/yaml' },
          }),
        ),
      );
    } catch (e) {
      setError(e);
    }
  };
  const close = () => {
    setResult(undefined);
    setError(undefined);
    onClose();
  };
  return (
    <Modal open={open} title="YAML (berth.dev/v1)" width={760} onCancel={close} onOk={result ? close : apply} okText={result ? t('common.ok') : 'Apply'}>
      <Input.TextArea
        aria-label="manifest"
        data-testid="manifest"
        rows={14}
        value={text}
        onChange={(e) => setText(e.target.value)}
        style={{ fontFamily: 'monospace' }}
        spellCheck={false}
      />
      <ErrorAlert error={error} />
      {result && (
        <Table
          size="small"
          rowKey="document"
          pagination={false}
          dataSource={result.objects ?? []}
          columns={[
            { title: '#', dataIndex: 'document' },
            { title: 'kind', dataIndex: 'kind' },
            { title: t('common.name'), dataIndex: 'name' },
            { title: t('common.status'), dataIndex: 'action' },
          ]}
        />
      )}
    </Modal>
  );
}
