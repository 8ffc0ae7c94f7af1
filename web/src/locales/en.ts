// English. Typed by the zh-CN messages, so a missing key fails the build.
import type { Messages } from './zh-CN';

const en: Messages = {
  app: { name: 'Berth financial-grade application platform', short: 'Berth' },
  common: {
    ok: 'OK', cancel: 'Cancel', create: 'Create', save: 'Save', delete: 'Delete', refresh: 'Refresh', actions: 'Actions',
    name: 'Name', displayName: 'Display name', description: 'Description', createdAt: 'Created', createdBy: 'Created by',
    status: 'Status', loading: 'Loading…', none: 'None', confirm: 'Confirm', reason: 'Reason',
    noPermission: 'You lack the permission {{perm}}', chooseEnvironment: 'Choose a tenant, project and environment above',
    chooseProject: 'Choose a tenant and project above', chooseTenant: 'Choose a tenant above', live: 'Live',
    paused: 'Paused', requestId: 'Request ID',
  },
  nav: {
    apps: 'Applications', releases: 'Release orders', gray: 'Gray release', network: 'Network assets', audit: 'Audit',
    tenancy: 'Tenants & projects', users: 'Users', tokens: 'API tokens', clusters: 'Clusters', pipelines: 'Pipelines',
    monitoring: 'Monitoring', terminal: 'Terminal', config: 'Config center', comingSoon: 'Coming soon',
  },
  scope: { tenant: 'Tenant', project: 'Project', environment: 'Environment', pick: 'Choose' },
  login: {
    title: 'Sign in to Berth', username: 'User name', password: 'Password', submit: 'Sign in', failed: 'Sign-in failed',
    expired: 'Your session has expired; please sign in again', sso: 'Single sign-on', logout: 'Sign out', language: 'Language',
  },
  apps: {
    title: 'Applications', version: 'Version', ready: 'Ready', external: 'External address', internal: 'Internal address',
    replicas: 'Replicas', deploy: 'Deploy', scale: 'Scale', stop: 'Stop', start: 'Start', restart: 'Restart',
    undeploy: 'Undeploy', confirmUndeploy: 'Undeploy {{app}}? All its instances will be deleted.',
    confirmStop: 'Stop {{app}}?', confirmRestart: 'Restart {{app}}?', newApp: 'New application', newVersion: 'New version',
    image: 'Image', digest: 'Digest', source: 'Source', tier: 'Resource tier', pipeline: 'Pipeline', pods: 'Pods',
    node: 'Node', zone: 'Zone', ip: 'IP', restarts: 'Restarts', events: 'Events', versions: 'Versions',
    filter: 'Filter by name', notDeployed: 'Not deployed',
    phase: {
      Running: 'Running', Progressing: 'Progressing', Failed: 'Failed', Stopped: 'Stopped', Unknown: 'Unknown',
      Deleting: 'Deleting', Degraded: 'Degraded',
    },
    application: 'Application', port: 'Port', orchestration: 'Orchestration',
  },
  releases: {
    title: 'Release orders', create: 'New release order', titleField: 'Title', ticket: 'Change ticket', deadline: 'Deadline',
    items: 'Items', stages: 'Stages', stage: 'Stage {{n}}', addItem: 'Add item', addStage: 'Add stage',
    submit: 'Submit for approval', approve: 'Approve', start: 'Start', abort: 'Abort', rollback: 'Roll back',
    state: 'State', progress: 'done {{done}} / deploying {{deploying}} / failed {{failed}}', approvals: 'Approvals',
    required: '{{n}} approval(s) required', approvedBy: 'Approved by',
    approver: 'May approve: release managers other than the author', failure: 'Failure evidence',
    timeline: 'Item timeline', comment: 'Comment', dependsOn: 'Depends on', before: 'Version before',
    chooseItems: 'Items to roll back (none chosen: all)', parallelism: 'Parallelism', draft: 'Save as draft',
    states: {
      Draft: 'Draft', PendingApproval: 'Pending approval', Approved: 'Approved', Running: 'Running', Graying: 'Graying',
      Succeeded: 'Succeeded', Failed: 'Failed', RollingBack: 'Rolling back', RolledBack: 'Rolled back', Aborted: 'Aborted',
      Cancelled: 'Cancelled', Pending: 'Pending', Deploying: 'Deploying',
    },
  },
  gray: {
    title: 'Gray release', start: 'Start gray release', strategy: 'Strategy', grayVersion: 'Gray version',
    stableVersion: 'Stable version', steps: 'Steps', step: 'Current step', widen: 'Widen to next step', promote: 'Promote',
    keepOld: 'Keep old version until', switchBack: 'Switch back', abort: 'Abort', end: 'End', serving: 'Serving now',
    weight: 'Weight', regions: 'Regions', branches: 'Branches', tellers: 'Tellers', org: 'Organisation', phase: 'Phase',
    cohort: 'Cohort', grayReplicas: 'Gray replicas', noPlans: 'No gray plans', groups: 'Gray groups of orders',
    phases: { Running: 'Running', Promoted: 'Promoted', Ended: 'Ended', Aborted: 'Aborted' },
  },
  network: {
    title: 'Network assets', ports: 'Port pools', allotted: 'Allotted', used: 'Used', free: 'Free', holders: 'Holders',
    expose: 'Expose port', unexpose: 'Unexpose', bandwidth: 'Bandwidth quota', ingress: 'Ingress', egress: 'Egress',
    isolation: 'Isolation', level: 'Level', allow: 'Allow rules', cluster: 'Cluster', grants: 'Grants',
  },
  audit: {
    title: 'Audit', verify: 'Verify the chain', export: 'Export', action: 'Action', actor: 'Actor', target: 'Target',
    outcome: 'Outcome', time: 'Time', seq: 'Seq', ok: 'Chain intact: {{n}} records checked',
    broken: 'Chain broken at record {{seq}}: {{problem}}', summary: 'Summary', sourceIP: 'Source IP',
  },
  terminal: {
    openTerminal: 'Open terminal', closeTerminal: 'Close', interactive: 'Interactive terminal', ended: 'session ended: {{reason}}',
    failedToOpen: 'the terminal could not be opened',
    title: 'Terminal', run: 'Run a command', application: 'Application', pod: 'Pod (optional)', line: 'Command line',
    runButton: 'Run', output: 'Output', exitCode: 'Exit code {{code}}', refused: 'Refused by your terminal policy',
    failed: 'The command did not finish', sessions: 'Sessions', user: 'User', mode: 'Mode', startedAt: 'Started',
    endedAt: 'Ended', commands: 'Commands', refusedCount: 'Refused', replay: 'Replay', recording: 'Recording of session {{id}}',
    open: 'open', hint: 'Restricted mode: one command of your policy, optionally piped into grep, head, tail or wc.',
    reasons: {
      empty: 'empty line', 'too-long': 'line too long', encoding: 'not valid UTF-8', 'control-character': 'control character',
      unicode: 'invisible or look-alike character', syntax: 'not a valid command line', list: 'command lists (;) are not allowed',
      'and-or': '&& and || are not allowed', background: 'background jobs (&) are not allowed', negation: '! is not allowed',
      compound: 'subshells, blocks and functions are not allowed', substitution: 'command substitution is not allowed',
      expansion: 'variable and arithmetic expansion are not allowed', redirection: 'redirections are not allowed',
      assignment: 'assignments are not allowed', comment: 'comments are not allowed', escape: 'escapes are not allowed',
      glob: 'glob, brace and tilde characters are not allowed', 'too-many': 'too many commands in the pipe',
      'command-not-allowed': 'this command is not allowed', 'filter-not-allowed': 'this filter is not allowed after a pipe',
      'flag-not-allowed': 'this flag is not allowed', 'value-not-allowed': 'this value is not allowed',
      'operand-not-allowed': 'this operand is not allowed', 'path-not-allowed': 'this path is outside the allowed paths',
      'shell-mode': 'not accepted in this mode',
    },
  },
  tenancy: {
    tenants: 'Tenants', projects: 'Projects', environments: 'Environments', newTenant: 'New tenant',
    newProject: 'New project', newEnvironment: 'New environment', cluster: 'Cluster', namespace: 'Namespace',
    quota: 'Quota', usage: 'Usage', members: 'Members', addMember: 'Add member', role: 'Role', user: 'User',
    tiers: 'Resource tiers', capacity: 'Capacity', requiredApprovals: 'Required approvals', traffic: 'Traffic',
  },
  users: { title: 'Users', newUser: 'New user', email: 'Email', disabled: 'Disabled', password: 'Initial password' },
  tokens: {
    title: 'API tokens', newToken: 'New token', ttl: 'Lifetime', expiresAt: 'Expires', revoke: 'Revoke', revoked: 'Revoked',
    secretOnce: 'The token is shown only this once; store it now:',
  },
  clusters: { title: 'Clusters', zone: 'Zone', phase: { Ready: 'Ready', Unreachable: 'Unreachable', Unknown: 'Unknown' } },
};

export default en;
