// Coloured, translated states of deployments, orders, gray plans and config revisions.
import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';

const colours: Record<string, string> = {
  Running: 'processing', Progressing: 'processing', Deploying: 'processing', Graying: 'processing', RollingBack: 'warning',
  Succeeded: 'success', Promoted: 'success', Approved: 'success', Ready: 'success',
  Failed: 'error', Degraded: 'warning', Aborted: 'default', RolledBack: 'warning', Unreachable: 'error',
  Stopped: 'default', Draft: 'default', PendingApproval: 'gold', Pending: 'default', Cancelled: 'default', Unknown: 'default',
  // Revisions of config items.
  published: 'success', proposed: 'gold', gray: 'processing', rejected: 'default',
};

/** PhaseTag shows state translated from the prefix namespace (apps.phase, releases.states…). */
export function PhaseTag({ prefix, state }: { prefix: string; state?: string }) {
  const { t } = useTranslation();
  if (!state) return null;
  // A running deployment shows as green, an order running as blue.
  const colour = prefix === 'apps.phase' && state === 'Running' ? 'success' : colours[state] ?? 'default';
  return (
    <Tag color={colour} data-state={state}>
      {t(`${prefix}.${state}`, { defaultValue: state })}
    </Tag>
  );
}
