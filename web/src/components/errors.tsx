// How API errors reach the user: next to the field the server named, and
// otherwise as an alert with the translated message and the request ID.
import { Alert, type FormInstance } from 'antd';
import { useTranslation } from 'react-i18next';
import { isApiError } from '../api/client';

/** fieldName turns a server field path (items[0].application) into an antd name. */
export function fieldName(path: string): (string | number)[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * showFieldErrors puts the reasons of e next to the fields of form it names;
 * it returns the error when something is left to show elsewhere.
 */
export function showFieldErrors(form: FormInstance, e: unknown, known: string[]): unknown {
  if (!isApiError(e) || !e.fields?.length) return e;
  const shown = e.fields.filter((f) => known.includes(fieldName(f.path ?? '')[0] as string));
  form.setFields(shown.map((f) => ({ name: fieldName(f.path ?? ''), errors: [f.reason ?? ''] })));
  return shown.length === e.fields.length ? undefined : e;
}

/** ErrorAlert shows an error of the API (or any other) in the user's language. */
export function ErrorAlert({ error }: { error?: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  if (!isApiError(error)) return <Alert type="error" showIcon title={String((error as Error).message ?? error)} />;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={error.message}
      description={
        <>
          {error.fields?.map((f) => (
            <div key={f.path}>
              <code>{f.path}</code>: {f.reason}
            </div>
          ))}
          {error.requestId && (
            <small>
              {t('common.requestId')}: {error.requestId}
            </small>
          )}
        </>
      }
    />
  );
}
