// Package live is the hub of the console's live event stream: it turns the
// committed changes of the change bus into numbered events, keeps the most
// recent ones in a ring buffer so a reconnecting client can resume where it
// left off, and hands each open stream the events its own filter (the
// caller's permissions) lets through, without ever blocking the publisher.
// It knows nothing of HTTP; internal/api serves the streams.
package live

import (
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/resource"
)

// Topic is a family of events a client subscribes to.
type Topic string

// The topics of the live event stream.
const (
	Deployments Topic = "deployments" // kinds deployment, applied, status
	Releases    Topic = "releases"    // kind release (name: the order ID)
	GrayPlans   Topic = "grayplans"   // kind grayplan (name: the application)
	Network     Topic = "network"     // kinds network, isolation
	Audit       Topic = "audit"       // kind audit (name: the action; seq: the record's)
	Configs     Topic = "configs"     // kind config (name: "group/dataId")
)

// Topics are every topic, in the order documented.
var Topics = []Topic{Deployments, Releases, GrayPlans, Network, Audit, Configs}

// Event is one numbered event of the stream. ID is "<boot>-<seq>": seq
// increases within one server process, boot tells processes apart.
type Event struct {
	ID          string `json:"-"`
	Topic       Topic  `json:"topic"`
	Kind        string `json:"kind"`
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	// Seq is the audit record's sequence number (kind audit only).
	Seq int64 `json:"seq,omitempty"`

	seq uint64
}

// topicOf maps each kind of change to its topic; kinds absent here are not
// streamed.
var topicOf = map[change.Kind]Topic{
	change.Deployment: Deployments,
	change.Applied:    Deployments,
	change.Status:     Deployments,
	change.Release:    Releases,
	change.GrayPlan:   GrayPlans,
	change.Network:    Network,
	change.Isolation:  Network,
	change.Audit:      Audit,
	change.Config:     Configs,
}

// Kinds are the kinds of change the hub streams.
func Kinds() []change.Kind {
	ks := make([]change.Kind, 0, len(topicOf))
	for k := range topicOf {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// eventOf is the event of c (without its ID), and whether c is streamed.
func eventOf(c change.Changed) (Event, bool) {
	t, ok := topicOf[c.Kind]
	if !ok {
		return Event{}, false
	}
	return Event{Topic: t, Kind: c.Kind.String(), Tenant: c.Key.Tenant, Project: c.Key.Project,
		Environment: c.Key.Environment, Name: c.Key.Name, Seq: c.Key.Seq}, true
}

// Scope is where e's object lives: its project, its tenant, or (an audit
// record of no tenant) the platform.
func (e Event) Scope() authz.Scope { return authz.Scope{Tenant: e.Tenant, Project: e.Project} }

// Permission is what a caller needs at an event's scope to receive an event
// of topic t: the permission of reading that resource through the API.
func Permission(t Topic) authz.Permission {
	switch t {
	case Releases:
		return authz.ReleaseRead
	case GrayPlans:
		return authz.GrayRead
	case Network:
		return authz.NetworkRead
	case Audit:
		return authz.AuditRead
	case Configs:
		return authz.ConfigRead
	}
	return authz.DeploymentRead
}

// Allowed reports whether a caller with bindings may receive e.
func Allowed(bindings []authz.Binding, e Event) bool {
	return authz.Allowed(bindings, Permission(e.Topic), e.Scope())
}

// ParseTopics reads a comma-separated list of topics; an empty list is
// every topic. An unknown or repeated topic is a field error on field.
// The result is a fresh slice.
func ParseTopics(field, list string) ([]Topic, error) {
	if strings.TrimSpace(list) == "" {
		return slices.Clone(Topics), nil
	}
	var out []Topic
	for _, s := range strings.Split(list, ",") {
		t := Topic(strings.TrimSpace(s))
		switch {
		case !slices.Contains(Topics, t):
			return nil, fieldError(field, fmt.Sprintf("unknown topic %q: one of %s", t, joinTopics()))
		case slices.Contains(out, t):
			return nil, fieldError(field, fmt.Sprintf("topic %q named twice", t))
		}
		out = append(out, t)
	}
	return out, nil
}

func joinTopics() string {
	s := make([]string, len(Topics))
	for i, t := range Topics {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func fieldError(path, reason string) error {
	return &resource.ValidationError{Fields: []resource.FieldError{{Path: path, Reason: reason}}}
}
