// Package manifest decodes Berth's YAML manifests (apiVersion berth.dev/v1)
// so platform state can live in Git: Tenant, Project, Environment, Cluster,
// Application, ResourceTier, Quota, Member, PortPool, PortGrant and
// NetworkIsolation, and ReleaseOrder for `berth release create -f`.
//
// Decoding is strict. An unknown field, a value of the wrong kind, a
// negative number or a bad name is an error naming the document (1-based
// index, kind and name) and the field path, e.g.
//
//	document 2 (Application red-auth): spec.replicass: unknown field
//
// Decode checks shape only; rules that need the database (does the tier
// exist, does the quota allow it) are the domain services' at apply time.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/resource"
)

// APIVersion is the only apiVersion manifests may declare.
const APIVersion = "berth.dev/v1"

// Kind names a manifest kind.
type Kind string

// The manifest kinds, in the order apply creates them.
const (
	KindCluster      Kind = "Cluster"
	KindResourceTier Kind = "ResourceTier"
	KindTenant       Kind = "Tenant"
	KindProject      Kind = "Project"
	KindQuota        Kind = "Quota"
	KindMember       Kind = "Member"
	// KindGroupBinding grants a role to the members of a directory or
	// OIDC group (see docs/sso.md); its scope is metadata.tenant and
	// metadata.project, as a Member's.
	KindGroupBinding Kind = "GroupBinding"
	KindEnvironment  Kind = "Environment"
	KindApplication  Kind = "Application"
	// KindGrayPlan is a gray plan; its name is the application's.
	KindGrayPlan Kind = "GrayPlan"
	// KindReleaseOrder is not applied: `berth release create -f` creates
	// one new order per file, as releases are events, not desired state.
	KindReleaseOrder Kind = "ReleaseOrder"
	// KindTerminalPolicy says what the terminal sessions of one role may
	// do, in one environment or all (see docs/terminal.md).
	KindTerminalPolicy Kind = "TerminalPolicy"
	// KindConfigItem is a config center item (docs/config-center.md):
	// applying it publishes its content as a new revision when it differs
	// (proposed where the environment requires approvals).
	KindConfigItem Kind = "ConfigItem"
	// KindAlertRule and KindAlertReceiver are a project's alert rules and
	// where its alerts go (docs/observability.md).
	KindAlertRule     Kind = "AlertRule"
	KindAlertReceiver Kind = "AlertReceiver"
	// KindSLO is a service level objective of an application, whose
	// burn-rate alerts go to the project's receivers (docs/observability.md).
	KindSLO Kind = "SLO"
	// KindAppInstall is an app-store install (docs/app-store.md): a chart,
	// its version and values, in one environment; applying a changed one
	// upgrades it through a release order.
	KindAppInstall Kind = "AppInstall"
	// KindPipeline is an application's build and delivery pipeline
	// (docs/pipelines.md); its webhook secret is answered once, on
	// creation.
	KindPipeline Kind = "Pipeline"
)

// Kinds returns every kind in apply order: what others refer to first.
func Kinds() []Kind {
	return []Kind{KindCluster, KindResourceTier, KindTenant, KindProject, KindQuota, KindMember, KindGroupBinding, KindEnvironment, KindApplication,
		KindGrayPlan, KindReleaseOrder, KindPortPool, KindPortGrant, KindNetworkIsolation, KindTerminalPolicy, KindConfigItem,
		KindAlertReceiver, KindAlertRule, KindSLO, KindAppInstall, KindPipeline}
}

// Metadata names an object and places it. Tenant is required for kinds
// inside a tenant, Project for kinds inside a project.
type Metadata struct {
	Name    string `json:"name,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	Project string `json:"project,omitempty"`
}

// Object is one decoded manifest document. Spec points to the kind's spec
// type: *TenantSpec for a Tenant, and so on.
type Object struct {
	APIVersion string   `json:"apiVersion"`
	Kind       Kind     `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       any      `json:"spec,omitempty"`
}

// Error is an invalid document.
type Error struct {
	Index  int // 1-based position in the file
	Kind   Kind
	Name   string
	Fields []resource.FieldError
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Reason
	}
	return e.Where() + ": " + strings.Join(parts, "; ")
}

// Where names the document: "document 2 (Application red-auth)".
func (e *Error) Where() string {
	switch {
	case e.Kind == "":
		return fmt.Sprintf("document %d", e.Index)
	case e.Name == "":
		return fmt.Sprintf("document %d (%s)", e.Index, e.Kind)
	default:
		return fmt.Sprintf("document %d (%s %s)", e.Index, e.Kind, e.Name)
	}
}

// MaxSize bounds the manifest files Decode accepts.
const MaxSize = 4 << 20

// Decode decodes every document of a multi-document YAML (or JSON) file.
// Empty documents are skipped. It returns all objects, or the errors of
// every invalid document joined (each an *Error).
func Decode(data []byte) ([]Object, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("manifest is %d bytes, more than the limit of %d", len(data), MaxSize)
	}
	var objs []Object
	var errs []error
	line := 1 // the file line each document starts on
	for i, doc := range Split(data) {
		start := line
		line += bytes.Count(doc, []byte("\n")) + 1 // and its separator
		if isBlank(doc) {
			continue
		}
		obj, err := decodeOne(i+1, start, doc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, obj)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return objs, nil
}

// header is a document without its spec, for the strict check.
type header struct {
	APIVersion string   `json:"apiVersion"`
	Kind       Kind     `json:"kind"`
	Metadata   Metadata `json:"metadata"`
}

type envelope struct {
	header
	Spec json.RawMessage `json:"spec"`
}

func decodeOne(index, startLine int, doc []byte) (Object, error) {
	fail := func(kind Kind, name, path, reason string) (Object, error) {
		return Object{}, &Error{Index: index, Kind: kind, Name: name, Fields: []resource.FieldError{{Path: path, Reason: reason}}}
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		return fail("", "", "(document)", "not valid YAML: "+fileLines(msg, startLine-1))
	}
	var raw any
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return fail("", "", "(document)", "not valid YAML: "+err.Error())
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return fail("", "", "(document)", "must be a mapping with apiVersion, kind, metadata and spec")
	}
	kind, _ := top["kind"].(string)
	name := ""
	if md, ok := top["metadata"].(map[string]any); ok {
		name, _ = md["name"].(string)
	}
	specType, known := specTypes[Kind(kind)]
	var errs resource.Errors
	if v, _ := top["apiVersion"].(string); v != APIVersion {
		errs.Add("apiVersion", "must be %s, got %q", APIVersion, v)
	}
	switch {
	case kind == "":
		errs.Add("kind", "must not be empty")
	case !known:
		errs.Add("kind", "unknown kind %q, want one of %s", kind, kindList())
	}
	spec := top["spec"]
	delete(top, "spec")
	check(&errs, "", top, reflect.TypeFor[header]())
	if known {
		check(&errs, "spec", spec, specType)
	}
	if err := errs.Err(); err != nil {
		return Object{}, &Error{Index: index, Kind: Kind(kind), Name: name, Fields: fieldsOf(err)}
	}
	var env envelope
	if err := json.Unmarshal(js, &env); err != nil {
		return fail(Kind(kind), name, "(document)", err.Error())
	}
	obj := Object{APIVersion: env.APIVersion, Kind: env.Kind, Metadata: env.Metadata, Spec: reflect.New(specType).Interface()}
	if len(env.Spec) > 0 && string(env.Spec) != "null" {
		if err := json.Unmarshal(env.Spec, obj.Spec); err != nil {
			return fail(obj.Kind, name, "spec", err.Error())
		}
	}
	if err := Validate(obj); err != nil {
		return Object{}, &Error{Index: index, Kind: obj.Kind, Name: name, Fields: fieldsOf(err)}
	}
	return obj, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// fileLines turns the document-relative line numbers of a YAML error into
// lines of the file.
func fileLines(msg string, offset int) string {
	return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if err != nil {
			return m
		}
		return "line " + strconv.Itoa(n+offset)
	})
}

func fieldsOf(err error) []resource.FieldError {
	var ve *resource.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return []resource.FieldError{{Path: "(document)", Reason: err.Error()}}
}

func kindList() string {
	names := make([]string, 0, len(specTypes))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func isBlank(doc []byte) bool {
	for line := range bytes.SplitSeq(doc, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

// Split cuts a multi-document YAML file at its "---" separator lines. It
// keeps empty documents so indexes match what a reader counts.
func Split(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for line := range bytes.SplitAfterSeq(data, []byte("\n")) {
		t := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}
