// Package configcenter is Berth's configuration center: configuration
// items of an application environment, keyed as Nacos keys them (group and
// data ID), whose every change is an immutable, numbered revision with its
// author, time, comment and change ticket. A rollback is a new revision
// with an older one's content; where the environment requires approvals,
// a change is proposed and becomes current only once enough people other
// than its author approve it (four eyes, as release orders). A revision
// can be published to a cohort of clients first (gray) and then promoted
// or aborted. The content of items marked secret is sealed before it
// reaches the store and never appears in lists or audit records.
//
// The protocols that serve items to applications (the Nacos HTTP API and
// 2.x gRPC, internal/api's nacos*.go) and Berth's own API reach it through
// the application layer (internal/platform). Items go with their
// environment; revisions stay.
package configcenter

import (
	"context"
	"crypto/md5" //nolint:gosec // Nacos names content by its MD5; it is an identifier, not a protection
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/resource"
)

// Limits bound what one item holds.
const (
	// MaxContent is the largest content of one revision, in bytes.
	MaxContent = 256 << 10
	// MaxItems is how many items one environment may hold.
	MaxItems = 2000
	// MaxDescription bounds descriptions, comments and tickets.
	MaxDescription = 1000
	// MaxTags is how many tags one item carries.
	MaxTags = 16
	// DefaultGroup is Nacos' group when a client names none.
	DefaultGroup = "DEFAULT_GROUP"
)

// Type is the declared type of an item's content, which is validated.
type Type string

// The content types. Nacos' other types (xml, html) are accepted as text.
const (
	Text       Type = "text"
	YAML       Type = "yaml"
	Properties Type = "properties"
	JSON       Type = "json"
)

// Types are every content type, in a stable order.
func Types() []Type { return []Type{Text, YAML, Properties, JSON} }

// Key names one item: its environment and the Nacos group and data ID.
type Key struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Group       string `json:"group"`
	DataID      string `json:"dataId"`
}

// Name is the key's name within its environment, "group/dataId" (neither
// may contain '/').
func (k Key) Name() string { return k.Group + "/" + k.DataID }

// Path is the key's resource path.
func (k Key) Path() string {
	return "tenants/" + k.Tenant + "/projects/" + k.Project + "/environments/" + k.Environment + "/configs/" + k.Name()
}

// Env is the environment a key is in.
type Env struct{ Tenant, Project, Environment string }

// Env returns k's environment.
func (k Key) Env() Env { return Env{k.Tenant, k.Project, k.Environment} }

// Namespace is the Nacos namespace (Nacos calls it "tenant") that names
// an environment: "<tenant>.<project>.<environment>". Berth's names are
// DNS labels, so they contain no '.' and the mapping is one to one.
func (e Env) Namespace() string { return e.Tenant + "." + e.Project + "." + e.Environment }

// ParseNamespace returns the environment a Nacos namespace names, and
// false for one that is not "<tenant>.<project>.<environment>".
func ParseNamespace(ns string) (Env, bool) {
	parts := strings.Split(ns, ".")
	if len(parts) != 3 || !resource.IsName(parts[0]) || !resource.IsName(parts[1]) || !resource.IsName(parts[2]) {
		return Env{}, false
	}
	return Env{parts[0], parts[1], parts[2]}, true
}

// Item is a configuration item and its current content.
type Item struct {
	Key
	Type        Type     `json:"type"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Secret items keep their content sealed at rest; lists and audit
	// records never show it.
	Secret bool `json:"secret,omitempty"`
	// Revision is the number of the current revision, MD5 its content's.
	Revision int64  `json:"revision"`
	MD5      string `json:"md5"`
	// Content is the current content; empty in lists and, at rest, for
	// secret items (Sealed holds it).
	Content string `json:"content,omitempty"`
	Sealed  []byte `json:"sealed,omitempty"`
	// Proposal is the number of the revision awaiting approvals, 0 for none.
	Proposal int64 `json:"proposal,omitempty"`
	// Gray is the revision published to a cohort only, nil for none.
	Gray            *Gray     `json:"gray,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	UpdatedBy       string    `json:"updatedBy"`
}

// Gray is a revision served to a cohort of clients before everyone.
type Gray struct {
	Revision int64  `json:"revision"`
	MD5      string `json:"md5"`
	Content  string `json:"content,omitempty"`
	Sealed   []byte `json:"sealed,omitempty"`
	Cohort   Cohort `json:"cohort"`
}

// Cohort picks the clients a gray revision is served to: those whose
// address is listed, whose labels (sent at connection setup, or as
// request headers) include every one given, that run one of the listed
// application versions, or that say they serve one of the listed org
// units. A client in any of these is in the cohort.
type Cohort struct {
	IPs    []string          `json:"ips,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Versions are application versions: Berth's driver labels every
	// pod's Nacos connections with its application and version (LabelApp,
	// LabelVersion), so the pods of a gray version read its configuration.
	Versions []AppVersion `json:"versions,omitempty"`
	// Regions, Branches and Tellers are org unit codes (names are resolved
	// to codes through the tenant's org directory when published); a
	// client names its units with LabelRegion, LabelBranch, LabelTeller.
	Regions  []string `json:"regions,omitempty"`
	Branches []string `json:"branches,omitempty"`
	Tellers  []string `json:"tellers,omitempty"`
}

// AppVersion names one version of one application.
type AppVersion struct {
	App     string `json:"app"`
	Version string `json:"version"`
}

// The connection labels a cohort reads, as a Nacos 2.x client sends them:
// the SDKs (Java and Go) read `nacos_app_conn_labels=k=v,…` from the
// environment and send each label as app_k. Berth's driver sets
// berth.app and berth.version on every container it runs
// (ConnLabelsEnv); an application serving org units adds berth.region,
// berth.branch or berth.teller to that variable itself.
const (
	ConnLabelsEnv = "nacos_app_conn_labels"
	LabelApp      = "app_berth.app"
	LabelVersion  = "app_berth.version"
	LabelRegion   = "app_berth.region"
	LabelBranch   = "app_berth.branch"
	LabelTeller   = "app_berth.teller"
)

// Client is what a client says about itself when it asks for an item.
type Client struct {
	IP     string
	Labels map[string]string
}

// Includes reports whether c is in the cohort.
func (co Cohort) Includes(c Client) bool {
	if slices.Contains(co.IPs, c.IP) {
		return true
	}
	if app, v := c.Labels[LabelApp], c.Labels[LabelVersion]; app != "" && v != "" && slices.Contains(co.Versions, AppVersion{app, v}) {
		return true
	}
	for _, u := range []struct {
		label string
		codes []string
	}{{LabelRegion, co.Regions}, {LabelBranch, co.Branches}, {LabelTeller, co.Tellers}} {
		if code := c.Labels[u.label]; code != "" && slices.Contains(u.codes, code) {
			return true
		}
	}
	if len(co.Labels) == 0 {
		return false
	}
	for k, v := range co.Labels {
		if c.Labels[k] != v {
			return false
		}
	}
	return true
}

// Op is what a revision did.
type Op string

// The operations a revision records.
const (
	OpPublish  Op = "publish"
	OpRollback Op = "rollback"
	OpDelete   Op = "delete"
)

// State is where a revision stands.
type State string

// The states of a revision.
const (
	// Published: the revision became current (or, for a delete, removed
	// the item).
	Published State = "published"
	// Proposed: it waits for approvals.
	Proposed State = "proposed"
	// Gray: it is served to a cohort only.
	GrayState State = "gray"
	// Rejected: a proposal refused, a gray revision aborted, or one
	// superseded before it became current.
	Rejected State = "rejected"
)

// Revision is one immutable change of an item.
type Revision struct {
	Key
	Number  int64  `json:"number"`
	Op      Op     `json:"op"`
	State   State  `json:"state"`
	Type    Type   `json:"type"`
	Secret  bool   `json:"secret,omitempty"`
	MD5     string `json:"md5"`
	Content string `json:"content,omitempty"`
	Sealed  []byte `json:"sealed,omitempty"`
	// From is the revision a rollback restored.
	From      int64     `json:"from,omitempty"`
	Author    string    `json:"author"`
	Time      time.Time `json:"time"`
	Comment   string    `json:"comment,omitempty"`
	Ticket    string    `json:"ticket,omitempty"`
	Approvals []string  `json:"approvals,omitempty"`
	// Decided is when it was approved enough, rejected or promoted.
	Decided time.Time `json:"decided,omitzero"`
}

// MD5 is the hex MD5 of content as Nacos computes it (of its UTF-8 bytes).
func MD5(content string) string {
	sum := md5.Sum([]byte(content)) //nolint:gosec // an identifier, as in Nacos
	return hex.EncodeToString(sum[:])
}

// Store is what the configuration center keeps.
type Store interface {
	CreateConfigItem(ctx context.Context, it Item) error
	GetConfigItem(ctx context.Context, k Key) (Item, error)
	UpdateConfigItem(ctx context.Context, it Item, prevRV int64) error
	DeleteConfigItem(ctx context.Context, k Key, prevRV int64) error
	// ListConfigItems lists an environment's items by name after `after`.
	ListConfigItems(ctx context.Context, e Env, after string, limit int) ([]Item, error)
	CountConfigItems(ctx context.Context, e Env) (int, error)
	CreateConfigRevision(ctx context.Context, r Revision) error
	GetConfigRevision(ctx context.Context, k Key, n int64) (Revision, error)
	UpdateConfigRevision(ctx context.Context, r Revision) error
	// ListConfigRevisions lists k's revisions newest first, numbered
	// below before (0: from the newest).
	ListConfigRevisions(ctx context.Context, k Key, before int64, limit int) ([]Revision, error)
	// LastConfigRevision is the highest revision number k ever had, 0 if none.
	LastConfigRevision(ctx context.Context, k Key) (int64, error)
	// SecretConfigItems and SecretConfigRevisions return every item and
	// revision whose content is sealed, of every environment.
	SecretConfigItems(ctx context.Context) ([]Item, error)
	SecretConfigRevisions(ctx context.Context) ([]Revision, error)
}

var nacosName = regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`)

// checkKey records errors of k's group and data ID (as Nacos allows them).
func checkKey(errs *resource.Errors, k Key) {
	CheckName(errs, "group", k.Group)
	CheckName(errs, "dataId", k.DataID)
}

// CheckName records an error at path unless v is a group or data ID as
// Nacos allows them.
func CheckName(errs *resource.Errors, path, v string) {
	switch {
	case v == "":
		errs.Add(path, "must not be empty")
	case len(v) > 255:
		errs.Add(path, "must be at most 255 characters, got %d", len(v))
	case !nacosName.MatchString(v):
		errs.Add(path, "may contain only letters, digits and '_', '-', '.', ':', got %q", v)
	}
}
