package apitypes

import (
	"time"

	"berth.dev/berth/internal/configcenter"
)

// ConfigPublishRequest publishes a new revision of a config item (PUT
// .../configs/{group}/{dataid}); where the environment requires approvals
// it is proposed instead.
type ConfigPublishRequest struct {
	// Type is text, yaml, properties or json; empty keeps an existing
	// item's type (text for a new one).
	Type        configcenter.Type `json:"type,omitempty"`
	Description *string           `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	// Secret seals the item's content at rest; an item once secret stays so.
	Secret  bool   `json:"secret,omitempty"`
	Content string `json:"content"`
	Comment string `json:"comment,omitempty"`
	Ticket  string `json:"ticket,omitempty"`
	// CasMD5, when set, is the MD5 the current content must have.
	CasMD5 string `json:"casMd5,omitempty"`
	// Cohort publishes to these clients only (gray), until promoted.
	Cohort *configcenter.Cohort `json:"cohort,omitempty"`
}

// ConfigRollbackRequest publishes an older revision's content again.
type ConfigRollbackRequest struct {
	To      int64  `json:"to"`
	Comment string `json:"comment,omitempty"`
	Ticket  string `json:"ticket,omitempty"`
}

// ConfigRejectRequest rejects a proposed revision.
type ConfigRejectRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ConfigGrayView is the revision an item serves to a cohort.
type ConfigGrayView struct {
	Revision int64               `json:"revision"`
	MD5      string              `json:"md5"`
	Content  string              `json:"content,omitempty"`
	Cohort   configcenter.Cohort `json:"cohort"`
}

// ConfigItemView is a config item; Content is empty in lists, and for a
// secret item unless the caller may read secrets (then Redacted).
type ConfigItemView struct {
	Tenant          string            `json:"tenant"`
	Project         string            `json:"project"`
	Environment     string            `json:"environment"`
	Group           string            `json:"group"`
	DataID          string            `json:"dataId"`
	Namespace       string            `json:"namespace"`
	Type            configcenter.Type `json:"type"`
	Description     string            `json:"description,omitempty"`
	Tags            []string          `json:"tags,omitempty"`
	Secret          bool              `json:"secret,omitempty"`
	Revision        int64             `json:"revision"`
	MD5             string            `json:"md5"`
	Content         string            `json:"content,omitempty"`
	Redacted        bool              `json:"redacted,omitempty"`
	Proposal        int64             `json:"proposal,omitempty"`
	Gray            *ConfigGrayView   `json:"gray,omitempty"`
	ResourceVersion int64             `json:"resourceVersion"`
	CreatedAt       time.Time         `json:"createdAt"`
	UpdatedAt       time.Time         `json:"updatedAt"`
	UpdatedBy       string            `json:"updatedBy"`
}

// ConfigItemOf is the view of it.
func ConfigItemOf(it configcenter.Item, redacted bool) ConfigItemView {
	v := ConfigItemView{Tenant: it.Tenant, Project: it.Project, Environment: it.Environment, Group: it.Group, DataID: it.DataID,
		Namespace: it.Env().Namespace(), Type: it.Type, Description: it.Description, Tags: it.Tags, Secret: it.Secret,
		Revision: it.Revision, MD5: it.MD5, Content: it.Content, Redacted: redacted, Proposal: it.Proposal,
		ResourceVersion: it.ResourceVersion, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, UpdatedBy: it.UpdatedBy}
	if it.Secret {
		v.MD5 = "" // an MD5 of a short secret can be guessed
	}
	if g := it.Gray; g != nil {
		v.Gray = &ConfigGrayView{Revision: g.Revision, MD5: g.MD5, Content: g.Content, Cohort: g.Cohort}
		if it.Secret {
			v.Gray.MD5 = ""
		}
	}
	return v
}

// ConfigRevisionView is one revision of a config item; Content only when
// one revision is read (never in history).
type ConfigRevisionView struct {
	Group     string             `json:"group"`
	DataID    string             `json:"dataId"`
	Number    int64              `json:"number"`
	Op        configcenter.Op    `json:"op"`
	State     configcenter.State `json:"state"`
	Type      configcenter.Type  `json:"type"`
	Secret    bool               `json:"secret,omitempty"`
	MD5       string             `json:"md5,omitempty"`
	Content   string             `json:"content,omitempty"`
	From      int64              `json:"from,omitempty"`
	Author    string             `json:"author"`
	Time      time.Time          `json:"time"`
	Comment   string             `json:"comment,omitempty"`
	Ticket    string             `json:"ticket,omitempty"`
	Approvals []string           `json:"approvals,omitempty"`
	Decided   *time.Time         `json:"decided,omitempty"`
}

// ConfigRevisionOf is the view of r.
func ConfigRevisionOf(r configcenter.Revision) ConfigRevisionView {
	v := ConfigRevisionView{Group: r.Group, DataID: r.DataID, Number: r.Number, Op: r.Op, State: r.State, Type: r.Type, Secret: r.Secret,
		MD5: r.MD5, Content: r.Content, From: r.From, Author: r.Author, Time: r.Time, Comment: r.Comment, Ticket: r.Ticket, Approvals: r.Approvals}
	if r.Secret {
		v.MD5 = ""
	}
	if !r.Decided.IsZero() {
		d := r.Decided
		v.Decided = &d
	}
	return v
}

// ConfigDiff is the lines that turn revision From into revision To.
type ConfigDiff struct {
	From  int64               `json:"from"`
	To    int64               `json:"to"`
	Lines []configcenter.Line `json:"lines"`
}

// The config center's types and limits, for clients.
type (
	// ConfigCohort picks the clients a gray revision is served to.
	ConfigCohort = configcenter.Cohort
	// ConfigAppVersion names an application version of a cohort.
	ConfigAppVersion = configcenter.AppVersion
	// ConfigType is an item's content type.
	ConfigType = configcenter.Type
)

// Limits and names of the config center, for clients.
const (
	ConfigMaxContent   = configcenter.MaxContent
	ConfigDefaultGroup = configcenter.DefaultGroup
	ConfigProposed     = configcenter.Proposed
)
