// Gray plans of an environment: cohorts chosen from the organisation tree
// (region → branch → teller) step by step, with what serves now and the
// actions widen, promote (keep old), switch back and abort.
import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Empty, Form, Input, InputNumber, Modal, Radio, Select, Space, Steps, TreeSelect, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type Schemas } from '../api/client';
import { Guarded } from '../components/Can';
import { ErrorAlert, showFieldErrors } from '../components/errors';
import { orgTree, picked } from '../components/orgTree';
import { PhaseTag } from '../components/phase';
import { useLive } from '../live';
import { useLoad } from '../load';
import { usePermissions, useSession } from '../session';
import { listDeployments, type EnvPath } from './Apps';

type Plan = Schemas['GrayPlanView'];
type Step = NonNullable<Plan['steps']>[number];

/** cohortOf splits "level:code" picks into a step's regions, branches and tellers. */
function cohortOf(picks: string[] = [], weight?: number): Step {
  const of = (level: string) => picked(picks, level);
  return { regions: of('region'), branches: of('branch'), tellers: of('teller'), weight: weight || undefined };
}

function describe(s: Step, t: (k: string) => string) {
  const parts = [
    s.regions?.length && `${t('gray.regions')} ${s.regions.join(',')}`,
    s.branches?.length && `${t('gray.branches')} ${s.branches.join(',')}`,
    s.tellers?.length && `${t('gray.tellers')} ${s.tellers.join(',')}`,
    s.weight && `${t('gray.weight')} ${s.weight}%`,
  ].filter(Boolean);
  return parts.join(' · ') || '—';
}

function StartPlan({ env, open, onClose }: { env: EnvPath; open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const [error, setError] = useState<unknown>();
  const strategy = Form.useWatch('strategy', form);
  const app = Form.useWatch('application', form);
  const org = useLoad(() => (open ? must(api.GET('/api/v1/tenants/{tenant}/org', { params: { path: { tenant: env.tenant } } })) : undefined), [open, env.tenant]);
  const deployments = useLoad(
    () => (open ? listDeployments(env) : undefined),
    [open, env.environment],
  );
  const versions = useLoad(
    () => (open && app ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/applications/{app}/versions', { params: { path: { ...env, app }, query: { limit: '500' } } })) : undefined),
    [open, app],
  );
  const tree = useMemo(() => orgTree(org.data?.items ?? []), [org.data]);
  const submit = async (v: { application: string; grayVersion: string; strategy: string; grayReplicas?: number; steps?: { picks?: string[]; weight?: number }[] }) => {
    setError(undefined);
    try {
      await must(
        api.POST('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/grayplans', {
          params: { path: env },
          body: {
            application: v.application,
            grayVersion: v.grayVersion,
            strategy: v.strategy,
            grayReplicas: v.grayReplicas,
            steps: v.strategy === 'blue-green' ? undefined : (v.steps ?? []).map((s) => cohortOf(s.picks, s.weight)),
          },
        }),
      );
      onClose();
    } catch (e) {
      setError(showFieldErrors(form, e, ['application', 'grayVersion', 'strategy', 'grayReplicas', 'steps']));
    }
  };
  return (
    <Modal open={open} width={720} title={t('gray.start')} onCancel={onClose} onOk={() => form.submit()} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ strategy: 'canary', steps: [{}] }}>
        <Space wrap>
          <Form.Item name="application" label={t('apps.application')} rules={[{ required: true }]}>
            <Select style={{ width: 200 }} options={(deployments.data?.items ?? []).map((d) => ({ value: d.application, label: `${d.application} (${d.version})` }))} />
          </Form.Item>
          <Form.Item name="grayVersion" label={t('gray.grayVersion')} rules={[{ required: true }]}>
            <Select style={{ width: 140 }} options={(versions.data?.items ?? []).map((v) => ({ value: v.name, label: v.name }))} />
          </Form.Item>
          <Form.Item name="strategy" label={t('gray.strategy')}>
            <Radio.Group options={[{ value: 'canary', label: 'canary' }, { value: 'blue-green', label: 'blue-green' }]} />
          </Form.Item>
          <Form.Item name="grayReplicas" label={t('gray.grayReplicas')}>
            <InputNumber min={1} />
          </Form.Item>
        </Space>
        {strategy !== 'blue-green' && (
          <Form.List name="steps">
            {(steps, { add, remove }) => (
              <>
                {steps.map((s, i) => (
                  <Space key={s.key} align="baseline" wrap>
                    <Typography.Text>{i + 1}.</Typography.Text>
                    <Form.Item name={[s.name, 'picks']} label={t('gray.cohort')}>
                      <TreeSelect
                        style={{ width: 380 }}
                        treeData={tree}
                        multiple
                        treeDefaultExpandAll
                        showSearch
                        treeNodeFilterProp="title"
                        aria-label={`${t('gray.cohort')} ${i + 1}`}
                      />
                    </Form.Item>
                    <Form.Item name={[s.name, 'weight']} label={`${t('gray.weight')} %`}>
                      <InputNumber min={0} max={100} />
                    </Form.Item>
                    {steps.length > 1 && <MinusCircleOutlined aria-label="remove step" onClick={() => remove(s.name)} />}
                  </Space>
                ))}
                <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({})}>
                  {t('gray.steps')}
                </Button>
              </>
            )}
          </Form.List>
        )}
        <ErrorAlert error={error} />
      </Form>
    </Modal>
  );
}

function PlanCard({ env, plan, perms, reload }: { env: EnvPath; plan: Plan; perms?: Set<string>; reload: () => void }) {
  const { t } = useTranslation();
  const { modal, message } = App.useApp();
  const path = { ...env, app: plan.application ?? '' };
  const base = '/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}' as const;
  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  const running = plan.phase === 'Running';
  const steps = plan.steps ?? [];
  const serving = plan.rules?.blueGreen
    ? `blue-green → ${plan.rules.blueGreen === 'gray' ? plan.grayVersion : plan.stableVersion}`
    : steps[plan.step ?? 0]
      ? describe(steps[plan.step ?? 0], t)
      : '—';
  let keepOld = '2h';
  return (
    <Card
      size="small"
      data-testid={`plan-${plan.application}`}
      title={
        <Space>
          {plan.application} <PhaseTag prefix="gray.phases" state={plan.phase} />
        </Space>
      }
      extra={plan.group && <Typography.Text type="secondary">{t('gray.groups')}: {plan.group}</Typography.Text>}
    >
      <Descriptions size="small" column={{ xs: 1, md: 3 }}>
        <Descriptions.Item label={t('gray.stableVersion')}>{plan.stableVersion}</Descriptions.Item>
        <Descriptions.Item label={t('gray.grayVersion')}>{plan.grayVersion}</Descriptions.Item>
        <Descriptions.Item label={t('gray.strategy')}>{plan.strategy}</Descriptions.Item>
        <Descriptions.Item label={t('gray.serving')}>
          <span data-testid="serving">{serving}</span>
        </Descriptions.Item>
        {plan.reason && <Descriptions.Item label={t('common.reason')}>{plan.reason}</Descriptions.Item>}
      </Descriptions>
      {steps.length > 0 && (
        <Steps
          size="small"
          current={plan.step ?? 0}
          style={{ margin: '12px 0' }}
          items={steps.map((s, i) => ({ title: `${i + 1}`, content: describe(s, t) }))}
        />
      )}
      {!plan.group && (
        <Space wrap>
          {running && plan.strategy !== 'blue-green' && (plan.step ?? 0) < steps.length - 1 && (
            <Guarded perms={perms} perm="grayplan:manage" type="primary" onClick={() => act(() => must(api.POST(`${base}/step`, { params: { path }, body: {} })))}>
              {t('gray.widen')}
            </Guarded>
          )}
          {running && plan.strategy === 'blue-green' && (
            <Guarded perms={perms} perm="grayplan:manage" onClick={() => act(() => must(api.POST(`${base}/set`, { params: { path }, body: { side: plan.rules?.blueGreen === 'gray' ? 'stable' : 'gray' } })))}>
              {t('gray.switchBack')}
            </Guarded>
          )}
          {running && (
            <Guarded
              perms={perms}
              perm="grayplan:manage"
              onClick={() =>
                modal.confirm({
                  title: t('gray.promote'),
                  content: <Input addonBefore={t('gray.keepOld')} defaultValue={keepOld} onChange={(e) => (keepOld = e.target.value)} aria-label={t('gray.keepOld')} />,
                  onOk: () => act(() => must(api.POST(`${base}/promote`, { params: { path }, body: { keepOld } }))),
                })
              }
            >
              {t('gray.promote')}
            </Guarded>
          )}
          {(running || plan.phase === 'Promoted') && (
            <Guarded
              perms={perms}
              perm="grayplan:manage"
              danger
              onClick={() => modal.confirm({ title: running ? t('gray.abort') : t('gray.switchBack'), okButtonProps: { danger: true }, onOk: () => act(() => must(api.POST(`${base}/abort`, { params: { path }, body: {} }))) })}
            >
              {running ? t('gray.abort') : t('gray.switchBack')}
            </Guarded>
          )}
          {plan.phase === 'Promoted' && (
            <Guarded perms={perms} perm="grayplan:manage" onClick={() => act(() => must(api.POST(`${base}/end`, { params: { path } })))}>
              {t('gray.end')}
            </Guarded>
          )}
        </Space>
      )}
    </Card>
  );
}

/** Gray shows the gray plans of the chosen environment. */
export default function Gray() {
  const { t } = useTranslation();
  const { scope } = useSession();
  const perms = usePermissions(scope.tenant, scope.project);
  const [starting, setStarting] = useState(false);
  const env = scope.tenant && scope.project && scope.environment ? (scope as EnvPath) : undefined;
  const plans = useLoad(
    () => (env ? must(api.GET('/api/v1/tenants/{tenant}/projects/{project}/environments/{environment}/grayplans', { params: { path: env } })) : undefined),
    [env?.tenant, env?.project, env?.environment],
  );
  useLive('grayplans', (e) => e.tenant === env?.tenant && e.project === env?.project && e.environment === env?.environment, plans.reload);
  if (!env) return <Empty description={t('common.chooseEnvironment')} />;
  const items = ((plans.data as { items?: Plan[] } | undefined)?.items ?? []) as Plan[];
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('gray.title')} · {env.environment}
        </Typography.Title>
        <Guarded perms={perms} perm="grayplan:manage" type="primary" onClick={() => setStarting(true)}>
          {t('gray.start')}
        </Guarded>
      </Space>
      <ErrorAlert error={plans.error} />
      {items.length === 0 && !plans.loading && <Empty description={t('gray.noPlans')} />}
      {items.map((p) => (
        <PlanCard key={p.application} env={env} plan={p} perms={perms} reload={plans.reload} />
      ))}
      <StartPlan env={env} open={starting} onClose={() => { setStarting(false); plans.reload(); }} />
    </Space>
  );
}
