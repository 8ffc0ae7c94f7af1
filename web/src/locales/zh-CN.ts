// 简体中文：控制台的默认语言。每个键在 en.ts 中都有对应（由类型检查保证）。
const zhCN = {
  app: { name: 'Berth 金融级应用平台', short: 'Berth' },
  common: {
    ok: '确定', cancel: '取消', create: '创建', save: '保存', delete: '删除', refresh: '刷新', actions: '操作',
    name: '名称', displayName: '显示名', description: '描述', createdAt: '创建时间', createdBy: '创建人', status: '状态',
    loading: '加载中…', none: '无', confirm: '确认操作', reason: '原因', noPermission: '您没有权限：{{perm}}',
    chooseEnvironment: '请先在上方选择租户、项目和环境', chooseProject: '请先在上方选择租户和项目',
    chooseTenant: '请先在上方选择租户', live: '实时', paused: '已暂停', requestId: '请求号',
  },
  nav: {
    apps: '应用', releases: '发布单', gray: '灰度发布', network: '网络资产', audit: '审计', tenancy: '租户与项目',
    users: '用户', tokens: 'API 令牌', clusters: '集群', pipelines: '流水线', monitoring: '监控告警',
    terminal: '终端', config: '配置中心', comingSoon: '即将推出',
  },
  scope: { tenant: '租户', project: '项目', environment: '环境', pick: '请选择' },
  login: {
    title: '登录 Berth', username: '用户名', password: '密码', submit: '登录', failed: '登录失败',
    expired: '会话已过期，请重新登录', sso: '使用单点登录', logout: '退出登录', language: '语言',
  },
  apps: {
    title: '应用', version: '版本', ready: '就绪', external: '外部地址', internal: '内部地址', replicas: '副本数',
    deploy: '部署', scale: '扩缩容', stop: '停止', start: '启动', restart: '重启', undeploy: '下线',
    confirmUndeploy: '确定下线应用 {{app}}？其全部实例将被删除。', confirmStop: '确定停止应用 {{app}}？',
    confirmRestart: '确定重启应用 {{app}}？', newApp: '新建应用', newVersion: '新建版本', image: '镜像',
    digest: '摘要', source: '源码', tier: '资源规格', pipeline: '流水线', pods: '实例', node: '节点', zone: '可用区',
    ip: 'IP', restarts: '重启次数', events: '事件', versions: '版本', filter: '按名称筛选', notDeployed: '未部署',
    phase: {
      Running: '运行中', Progressing: '部署中', Failed: '失败', Stopped: '已停止', Unknown: '未知',
      Deleting: '删除中', Degraded: '降级',
    },
    application: '应用', port: '端口', orchestration: '编排',
  },
  releases: {
    title: '发布单', create: '新建发布单', titleField: '标题', ticket: '变更单号', deadline: '截止时长',
    items: '发布项', stages: '阶段', stage: '第 {{n}} 阶段', addItem: '添加发布项', addStage: '添加阶段',
    submit: '提交审批', approve: '审批通过', start: '开始发布', abort: '中止', rollback: '回滚',
    state: '状态', progress: '已完成 {{done}} / 部署中 {{deploying}} / 失败 {{failed}}',
    approvals: '审批', required: '需要 {{n}} 人审批', approvedBy: '审批人', approver: '可审批：发布经理（不能是创建人）',
    failure: '失败证据', timeline: '发布项时间线', comment: '意见', dependsOn: '依赖', before: '发布前版本',
    chooseItems: '选择要回滚的发布项（不选则全部）', parallelism: '并发数', draft: '存为草稿',
    states: {
      Draft: '草稿', PendingApproval: '待审批', Approved: '已审批', Running: '发布中', Graying: '灰度中',
      Succeeded: '成功', Failed: '失败', RollingBack: '回滚中', RolledBack: '已回滚', Aborted: '已中止',
      Cancelled: '已取消', Pending: '等待', Deploying: '部署中',
    },
  },
  gray: {
    title: '灰度发布', start: '开始灰度', strategy: '策略', grayVersion: '灰度版本', stableVersion: '稳定版本',
    steps: '灰度步骤', step: '当前步骤', widen: '扩大到下一步', promote: '全量发布', keepOld: '保留旧版本至',
    switchBack: '切回旧版本', abort: '中止灰度', end: '结束', serving: '当前服务', weight: '权重',
    regions: '区域', branches: '网点', tellers: '柜员', org: '组织机构', phase: '阶段', cohort: '灰度范围',
    grayReplicas: '灰度副本数', noPlans: '暂无灰度计划', groups: '发布单灰度组',
    phases: { Running: '进行中', Promoted: '已全量', Ended: '已结束', Aborted: '已中止' },
  },
  network: {
    title: '网络资产', ports: '端口池', allotted: '已分配', used: '已使用', free: '空闲', holders: '占用方',
    expose: '暴露端口', unexpose: '取消暴露', bandwidth: '带宽配额', ingress: '入向', egress: '出向',
    isolation: '网络隔离', level: '隔离级别', allow: '放行规则', cluster: '集群', grants: '授权',
  },
  audit: {
    title: '审计', verify: '校验审计链', export: '导出', action: '动作', actor: '操作人', target: '对象',
    outcome: '结果', time: '时间', seq: '序号', ok: '审计链完整：已校验 {{n}} 条', broken: '审计链在第 {{seq}} 条断裂：{{problem}}',
    summary: '摘要', sourceIP: '来源 IP',
  },
  terminal: {
    openTerminal: '打开终端', closeTerminal: '关闭', interactive: '交互式终端', ended: '会话已结束：{{reason}}',
    failedToOpen: '无法打开终端',
    title: '终端', run: '执行命令', application: '应用', pod: 'Pod（可选）', line: '命令行',
    runButton: '执行', output: '输出', exitCode: '退出码 {{code}}', refused: '终端策略拒绝执行',
    failed: '命令未能执行完毕', sessions: '会话', user: '用户', mode: '模式', startedAt: '开始时间',
    endedAt: '结束时间', commands: '命令数', refusedCount: '拒绝数', replay: '回放', recording: '会话 {{id}} 的录像',
    open: '进行中', hint: '受限模式：执行策略允许的一条命令，可用管道接 grep、head、tail 或 wc。',
    reasons: {
      empty: '空行', 'too-long': '命令行过长', encoding: '不是有效的 UTF-8', 'control-character': '含控制字符',
      unicode: '含不可见或形近字符', syntax: '不是有效的命令行', list: '不允许命令列表（;）',
      'and-or': '不允许 && 和 ||', background: '不允许后台执行（&）', negation: '不允许 !',
      compound: '不允许子 shell、代码块和函数', substitution: '不允许命令替换',
      expansion: '不允许变量展开和算术展开', redirection: '不允许重定向',
      assignment: '不允许变量赋值', comment: '不允许注释', escape: '不允许转义',
      glob: '不允许通配符、花括号和波浪号', 'too-many': '管道中的命令过多',
      'command-not-allowed': '不允许执行该命令', 'filter-not-allowed': '管道后不允许该过滤命令',
      'flag-not-allowed': '不允许该选项', 'value-not-allowed': '不允许该取值',
      'operand-not-allowed': '不允许该参数', 'path-not-allowed': '该路径不在允许的路径内',
      'shell-mode': '此模式下不接受',
    },
  },
  tenancy: {
    tenants: '租户', projects: '项目', environments: '环境', newTenant: '新建租户', newProject: '新建项目',
    newEnvironment: '新建环境', cluster: '集群', namespace: '命名空间', quota: '配额', usage: '用量',
    members: '成员', addMember: '添加成员', role: '角色', user: '用户', tiers: '资源规格', capacity: '容量',
    requiredApprovals: '所需审批数', traffic: '流量治理',
  },
  users: { title: '用户', newUser: '新建用户', email: '邮箱', disabled: '已停用', password: '初始密码' },
  tokens: {
    title: 'API 令牌', newToken: '新建令牌', ttl: '有效期', expiresAt: '过期时间', revoke: '吊销', revoked: '已吊销',
    secretOnce: '令牌只显示这一次，请立即保存：',
  },
  clusters: { title: '集群', zone: '可用区', phase: { Ready: '正常', Unreachable: '不可达', Unknown: '未知' } },
};

export default zhCN;
export type Messages = typeof zhCN;
