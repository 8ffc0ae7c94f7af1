// Actions the caller may not take are shown disabled, with the reason.
import { Button, Tooltip, type ButtonProps } from 'antd';
import { useTranslation } from 'react-i18next';

/** Guarded is a button enabled only when perms holds perm. */
export function Guarded({ perms, perm, ...props }: ButtonProps & { perms?: Set<string>; perm: string }) {
  const { t } = useTranslation();
  const allowed = perms?.has(perm) ?? false;
  if (allowed) return <Button {...props} />;
  return (
    <Tooltip title={t('common.noPermission', { perm })}>
      <Button {...props} disabled aria-disabled data-denied={perm} />
    </Tooltip>
  );
}
