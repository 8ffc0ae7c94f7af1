// Package i18n is the catalogue of user-facing messages in zh-CN and en,
// keyed by the stable codes the API returns. The console translates by code;
// the API picks a language from Accept-Language.
package i18n

import (
	"strconv"
	"strings"
)

// Lang is a supported language tag.
type Lang string

// Supported languages. English is the fallback.
const (
	EN   Lang = "en"
	ZhCN Lang = "zh-CN"
)

// Codes of the API's errors. They are stable: clients translate by them.
const (
	BadRequest       = "bad_request"
	ValidationFailed = "validation_failed"
	Unauthenticated  = "unauthenticated"
	BadCredentials   = "invalid_credentials"
	Forbidden        = "forbidden"
	CSRFFailed       = "csrf_failed"
	NotFound         = "not_found"
	MethodNotAllowed = "method_not_allowed"
	Conflict         = "conflict"
	AlreadyExists    = "already_exists"
	InUse            = "in_use"
	QuotaExceeded    = "quota_exceeded"
	TooLarge         = "payload_too_large"
	UnsupportedMedia = "unsupported_media_type"
	TooManyRequests  = "too_many_requests"
	Internal         = "internal"
	Unavailable      = "unavailable"
	// ClusterUnreachable: the environment's cluster does not answer, so
	// the change was refused rather than queued.
	ClusterUnreachable = "cluster_unreachable"
	// EventsUnavailable: a deployment was read, but not its recent events
	// (part of a successful response, with the request ID of the log).
	EventsUnavailable = "events_unavailable"
	// Refused: a rule refuses the request in the resource's current state
	// (an unapproved release order cannot start); the details say which.
	Refused = "refused"
	// RefusedForYou: a rule refuses the request because of who asks (the
	// creator of a release order cannot approve it: four eyes).
	RefusedForYou = "refused_for_you"
	// Busy: the server is checking as many passwords as it can at once;
	// nothing was done, retry after the Retry-After header.
	Busy = "busy"
	// TooManyStreams: the caller already has as many live event streams
	// open as one user may (one per console tab).
	TooManyStreams = "too_many_streams"
	// StreamsFull: the server carries as many live event streams as it
	// may; retry after the Retry-After header.
	StreamsFull = "streams_full"
	// SSOUnavailable: the directory or identity provider did not answer;
	// local accounts still sign in.
	SSOUnavailable = "sso_unavailable"
	// SSOFailed: a single sign-on was refused (expired or forged state,
	// a token that failed its checks, an account that is not the
	// provider's to sign in).
	SSOFailed = "sso_failed"

	// TerminalRefused prefixes, in a terminal, a line the session's
	// TerminalPolicy refused (the reason code and detail follow).
	TerminalRefused = "terminal_refused"
	// TerminalFailed prefixes, in a terminal, a command that could not run
	// to its end (stopped at a limit, stream broken).
	TerminalFailed = "terminal_failed"
	// TerminalTooMany: the user, or the server, has as many interactive
	// terminals open as it may.
	TerminalTooMany = "terminal_too_many"
	// DatabaseUnavailable: the database did not answer; nothing changed.
	DatabaseUnavailable = "database_unavailable"
	// LogSearchTooMany: the user, or the server, runs as many log searches
	// at once as it may.
	LogSearchTooMany = "log_search_too_many"
	// AlertmanagerUnavailable: Alertmanager did not answer; nothing
	// changed.
	AlertmanagerUnavailable = "alertmanager_unavailable"
	// PrometheusUnavailable: Prometheus did not answer a read.
	PrometheusUnavailable = "prometheus_unavailable"
)

var catalogue = map[string]map[Lang]string{
	BadRequest:       {EN: "The request is malformed.", ZhCN: "请求格式有误。"},
	ValidationFailed: {EN: "Some fields are invalid.", ZhCN: "部分字段不合法。"},
	Unauthenticated:  {EN: "Sign in first.", ZhCN: "请先登录。"},
	BadCredentials:   {EN: "Wrong username or password.", ZhCN: "用户名或密码错误。"},
	Forbidden:        {EN: "You do not have permission to do this.", ZhCN: "您没有执行此操作的权限。"},
	CSRFFailed:       {EN: "The request lacks a valid CSRF token.", ZhCN: "请求缺少有效的 CSRF 令牌。"},
	NotFound:         {EN: "Not found.", ZhCN: "未找到。"},
	MethodNotAllowed: {EN: "Method not allowed.", ZhCN: "不支持该请求方法。"},
	Conflict:         {EN: "The object changed since you read it; reload and retry.", ZhCN: "对象已被他人修改，请刷新后重试。"},
	AlreadyExists:    {EN: "An object with this name already exists.", ZhCN: "同名对象已存在。"},
	InUse:            {EN: "The object is still in use by others; remove those first.", ZhCN: "该对象仍被其他对象引用，请先删除它们。"},
	QuotaExceeded:    {EN: "The change would exceed a quota.", ZhCN: "此变更将超出配额。"},
	TooLarge:         {EN: "The request body is too large.", ZhCN: "请求体过大。"},
	UnsupportedMedia: {EN: "Unsupported content type.", ZhCN: "不支持的内容类型。"},
	TooManyRequests:  {EN: "Too many failed attempts; try again later.", ZhCN: "失败次数过多，请稍后再试。"},
	Internal:         {EN: "Internal error; quote the request ID to your administrator.", ZhCN: "内部错误，请将请求 ID 提供给管理员。"},
	Unavailable:      {EN: "The service is not available yet.", ZhCN: "服务暂不可用。"},
	ClusterUnreachable: {EN: "The environment's cluster cannot be reached; nothing was changed.",
		ZhCN: "环境所在集群无法连接，未做任何变更。"},
	EventsUnavailable: {EN: "The recent events could not be read; quote the request ID to your administrator.",
		ZhCN: "无法读取最近事件，请将请求 ID 提供给管理员。"},
	Refused:       {EN: "A rule does not allow this now; the details say which.", ZhCN: "当前状态下规则不允许此操作，详见说明。"},
	RefusedForYou: {EN: "A rule does not allow you to do this; the details say which.", ZhCN: "规则不允许您执行此操作，详见说明。"},
	Busy:          {EN: "The server is busy checking passwords; nothing was done, try again in a moment.", ZhCN: "服务器正忙于校验密码，未做任何操作，请稍后重试。"},
	TooManyStreams: {EN: "You already have as many live update streams open as one user may (one per console tab); close a tab and reload.",
		ZhCN: "您打开的实时更新连接已达上限（每个控制台标签页一个），请关闭一个标签页后刷新。"},
	StreamsFull: {EN: "The server carries as many live update streams as it may; try again in a moment.",
		ZhCN: "服务器的实时更新连接已满，请稍后重试。"},
	SSOUnavailable: {EN: "The sign-in service (directory or identity provider) is unavailable; try again later, or sign in with a local account.",
		ZhCN: "登录服务（目录或身份提供方）暂不可用，请稍后重试，或使用本地账号登录。"},
	SSOFailed: {EN: "Single sign-on failed; start the sign-in again.", ZhCN: "单点登录失败，请重新发起登录。"},

	TerminalRefused: {EN: "refused by your terminal policy", ZhCN: "终端策略拒绝执行"},
	TerminalFailed:  {EN: "the command did not finish", ZhCN: "命令未能执行完毕"},
	TerminalTooMany: {EN: "You (or the server) have as many terminals open as allowed; close one and retry.",
		ZhCN: "您（或服务器）打开的终端已达上限，请关闭一个后重试。"},
	DatabaseUnavailable: {EN: "Berth's database is not answering; nothing was changed. Try again shortly.",
		ZhCN: "Berth 的数据库暂无响应，本次操作未做任何更改，请稍后重试。"},
	LogSearchTooMany: {EN: "You (or the server) run as many log searches at once as allowed; stop one and retry.",
		ZhCN: "您（或服务器）同时进行的日志查询已达上限，请停止一个后重试。"},
	AlertmanagerUnavailable: {EN: "Alertmanager is not answering; nothing was changed. Try again shortly.",
		ZhCN: "Alertmanager 暂无响应，本次操作未做任何更改，请稍后重试。"},
	PrometheusUnavailable: {EN: "Prometheus is not answering; try again shortly.",
		ZhCN: "Prometheus 暂无响应，请稍后重试。"},
}

// Codes returns every code in the catalogue.
func Codes() []string {
	codes := make([]string, 0, len(catalogue))
	for c := range catalogue {
		codes = append(codes, c)
	}
	return codes
}

// Message returns the message for code in lang, falling back to English,
// then to the code itself.
func Message(code string, lang Lang) string {
	m, ok := catalogue[code]
	if !ok {
		return code
	}
	if s, ok := m[lang]; ok {
		return s
	}
	return m[EN]
}

// Pick chooses the supported language a request's Accept-Language header
// prefers most (by q-value, then order); English when none matches.
func Pick(acceptLanguage string) Lang {
	best, bestQ := EN, 0.0
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		lang, ok := match(strings.ToLower(strings.TrimSpace(tag)))
		if ok && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

func match(tag string) (Lang, bool) {
	switch {
	case tag == "zh" || strings.HasPrefix(tag, "zh-cn") || strings.HasPrefix(tag, "zh-hans") || tag == "zh-sg":
		return ZhCN, true
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return EN, true
	}
	return "", false
}
