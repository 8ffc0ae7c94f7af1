// The sign-in page: password (with a directory when the server has several),
// single sign-on buttons when providers are configured, the language switch.
// It is all the first load fetches, so it avoids the heavier widgets (Select).
import { Alert, Button, Card, Form, Input, Radio, Segmented, Space, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, isApiError, must } from '../api/client';
import { ErrorAlert } from '../components/errors';
import { chooseLanguage, languages, type Language } from '../i18n';
import { useSession } from '../session';

interface Provider {
  name: string;
  kind: 'oidc' | 'ldap';
  displayName?: Record<string, string>;
}

/** Login signs the user in and hands the session to the console. */
export function Login() {
  const { t, i18n } = useTranslation();
  const { signedIn, expired } = useSession();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<Provider[]>([]);

  useEffect(() => {
    // Single sign-on providers, where the server offers them.
    fetch('/api/v1/sso/providers', { credentials: 'same-origin' })
      .then((r) => (r.ok ? (r.json() as Promise<Provider[]>) : []))
      .then((p) => setProviders(Array.isArray(p) ? p : []), () => setProviders([]));
  }, []);

  const submit = async (v: { username: string; password: string; directory?: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      await must(api.POST('/api/v1/login', { body: { username: v.username, password: v.password, ...(v.directory ? { directory: v.directory } : {}) } }));
      signedIn(await must(api.GET('/api/v1/whoami')));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const label = (p: Provider) => p.displayName?.[i18n.language] ?? p.displayName?.['zh-CN'] ?? p.name;
  const directories = providers.filter((p) => p.kind === 'ldap');
  return (
    <main style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: '#f0f2f5' }}>
      <Card style={{ width: 380 }}>
        <Space style={{ width: '100%', justifyContent: 'space-between' }}>
          <Typography.Title level={3} style={{ margin: 0 }}>
            {t('login.title')}
          </Typography.Title>
          <Segmented
            aria-label={t('login.language')}
            data-testid="language"
            size="small"
            value={i18n.language as Language}
            options={languages.map((l) => ({ value: l, label: l === 'en' ? 'English' : '简体中文' }))}
            onChange={(l) => void chooseLanguage(l as Language)}
          />
        </Space>
        <Typography.Paragraph type="secondary">{t('app.name')}</Typography.Paragraph>
        {expired && <Alert type="warning" showIcon title={t('login.expired')} style={{ marginBottom: 12 }} />}
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          {directories.length > 0 && (
            <Form.Item name="directory" label="LDAP">
              <Radio.Group options={[{ value: '', label: t('common.none') }, ...directories.map((d) => ({ value: d.name, label: label(d) }))]} />
            </Form.Item>
          )}
          <Form.Item name="username" label={t('login.username')} rules={[{ required: true }]}>
            <Input autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item name="password" label={t('login.password')} rules={[{ required: true }]}>
            <Input.Password autoComplete="current-password" />
          </Form.Item>
          {error !== undefined && (isApiError(error) && error.status === 401 ? (
            <Alert type="error" showIcon role="alert" title={error.message} style={{ marginBottom: 12 }} />
          ) : (
            <div style={{ marginBottom: 12 }}>
              <ErrorAlert error={error} />
            </div>
          ))}
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t('login.submit')}
          </Button>
        </Form>
        {providers.filter((p) => p.kind === 'oidc').map((p) => (
          <Button key={p.name} block style={{ marginTop: 8 }} href={`/api/v1/sso/${encodeURIComponent(p.name)}/start`}>
            {t('login.sso')}: {label(p)}
          </Button>
        ))}
      </Card>
    </main>
  );
}
