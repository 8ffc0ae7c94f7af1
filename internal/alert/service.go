package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Tx is the store the service writes through: its own tables, the
// environments rules name, the audit trail and the commit hook.
type Tx interface {
	Store
	GetEnvironment(ctx context.Context, tenant, project, name string) (tenancy.Environment, error)
	GetApplication(ctx context.Context, tenant, project, name string) (apps.Application, error)
	audit.Writer
	change.Committer
}

// Service keeps alert rules and receivers. Each change is audited in the
// caller's transaction and announced (change.Alert, the project) after
// commit.
type Service struct {
	clock   clock.Clock
	changes *change.Bus
	checker Checker
	sealer  Sealer
}

// Sealer encrypts secrets at rest (tenancy.Sealer): email receivers'
// passwords.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// NewService returns the service; checker checks rendered rules (nil: no
// check beyond Validate, for tests of other things); sealer seals email
// receivers' passwords.
func NewService(c clock.Clock, changes *change.Bus, checker Checker, sealer Sealer) *Service {
	return &Service{clock: c, changes: changes, checker: checker, sealer: sealer}
}

// SetChecker sets the checker of rendered rules.
func (s *Service) SetChecker(c Checker) { s.checker = c }

// PutRule creates r, or replaces the rule of its name (r.ResourceVersion,
// when not 0, must be the stored one). It validates r, that its
// environment and application exist, and that Prometheus accepts the rule
// as rendered (the Checker): a refused expression is a field error of
// expr (custom rules) or threshold (templates).
func (s *Service) PutRule(ctx context.Context, st Tx, a audit.Actor, r Rule) (Rule, bool, error) {
	if err := r.Validate(); err != nil {
		return Rule{}, false, err
	}
	env, err := st.GetEnvironment(ctx, r.Tenant, r.Project, r.Environment)
	if errors.Is(err, resource.ErrNotFound) {
		var errs resource.Errors
		errs.Add("environment", "project %s/%s has no environment %q", r.Tenant, r.Project, r.Environment)
		return Rule{}, false, errs.Err()
	}
	if err != nil {
		return Rule{}, false, fmt.Errorf("environment %s: %w", r.Environment, err)
	}
	if r.Application != "" {
		_, err := st.GetApplication(ctx, r.Tenant, r.Project, r.Application)
		if errors.Is(err, resource.ErrNotFound) {
			var errs resource.Errors
			errs.Add("application", "project %s/%s has no application %q", r.Tenant, r.Project, r.Application)
			return Rule{}, false, errs.Err()
		}
		if err != nil {
			return Rule{}, false, fmt.Errorf("application %s: %w", r.Application, err)
		}
	}
	if err := s.check(ctx, r, Place{Cluster: env.Cluster, Namespace: env.Namespace}); err != nil {
		return Rule{}, false, err
	}
	old, err := st.GetAlertRule(ctx, r.Tenant, r.Project, r.Name)
	created := errors.Is(err, resource.ErrNotFound)
	if err != nil && !created {
		return Rule{}, false, fmt.Errorf("alert rule %s: %w", r.Name, err)
	}
	now := s.clock.Now().UTC()
	r.UpdatedAt = now
	if created {
		if err := room(r.Tenant, r.Project, "rules", MaxRulesPerProject, func() (int, error) {
			l, err := st.ListAlertRules(ctx, r.Tenant, r.Project)
			return len(l), err
		}); err != nil {
			return Rule{}, false, err
		}
		r.CreatedAt, r.ResourceVersion = now, 1
		if err := st.CreateAlertRule(ctx, r); err != nil {
			return Rule{}, false, fmt.Errorf("create alert rule %s: %w", r.Name, err)
		}
	} else {
		prev := old.ResourceVersion
		if r.ResourceVersion != 0 && r.ResourceVersion != prev {
			return Rule{}, false, fmt.Errorf("alert rule %s: %w", r.Name, resource.ErrConflict)
		}
		r.CreatedAt, r.ResourceVersion = old.CreatedAt, prev+1
		if err := st.UpdateAlertRule(ctx, r, prev); err != nil {
			return Rule{}, false, fmt.Errorf("update alert rule %s: %w", r.Name, err)
		}
	}
	action := map[bool]string{true: "create", false: "update"}[created]
	s.announce(st, r.Tenant, r.Project)
	return r, created, s.audit(ctx, st, a, r.Tenant, r.Project, r.Path(), "alert-rule."+action,
		fmt.Sprintf("%s alert rule %s in %s: %s", action+"d", r.Name, r.Environment, describe(r)))
}

// describe is a rule in the audit trail's words.
func describe(r Rule) string {
	s := "custom expression"
	if r.Template != "" {
		s = r.Template + " of " + r.Application + " above " + r.Threshold
	}
	if r.For != "" {
		s += " for " + r.For
	}
	if r.Severity != "" {
		s += ", " + r.Severity
	}
	return s
}

// check renders r alone and has the Checker load it as Prometheus would.
func (s *Service) check(ctx context.Context, r Rule, p Place) error {
	if s.checker == nil {
		return nil
	}
	file, err := RuleFile(r.Tenant+"/"+r.Project, []Rule{r}, nil, map[string]Place{r.Environment: p})
	if err != nil {
		return fmt.Errorf("render alert rule %s: %w", r.Name, err)
	}
	err = s.checker.CheckRules(ctx, file)
	var refused *RefusedError
	if !errors.As(err, &refused) {
		return err
	}
	field := "expr"
	switch {
	case r.Template != "":
		field = "threshold"
	case strings.Contains(refused.Reason, "template"):
		field = "summary"
	}
	var errs resource.Errors
	errs.Add(field, "Prometheus refuses the rule: %s", refused.Reason)
	return errs.Err()
}

// RefusedError is a Checker's answer that Prometheus would not load the
// rule; Reason is what it said.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "prometheus refuses the rules: " + e.Reason }

// DeleteRule deletes a rule.
func (s *Service) DeleteRule(ctx context.Context, st Tx, a audit.Actor, tenant, project, name string) error {
	r, err := st.GetAlertRule(ctx, tenant, project, name)
	if err != nil {
		return fmt.Errorf("alert rule %s: %w", name, err)
	}
	if err := st.DeleteAlertRule(ctx, tenant, project, name); err != nil {
		return fmt.Errorf("delete alert rule %s: %w", name, err)
	}
	s.announce(st, tenant, project)
	return s.audit(ctx, st, a, tenant, project, r.Path(), "alert-rule.delete", "deleted alert rule "+name)
}

// PutReceiver creates r or replaces the receiver of its name; a new
// receiver gets a fresh token, a replaced one keeps its own. An email
// receiver's password is sealed; one replaced without a password keeps
// its sealed password when its server and username are the same.
func (s *Service) PutReceiver(ctx context.Context, st Tx, a audit.Actor, r Receiver) (Receiver, bool, error) {
	r.Token = ""
	if r.Email != nil {
		e := *r.Email
		e.SealedPassword, e.To = nil, slices.Clone(e.To)
		r.Email = &e
	}
	if err := r.Validate(); err != nil {
		return Receiver{}, false, err
	}
	old, err := st.GetAlertReceiver(ctx, r.Tenant, r.Project, r.Name)
	created := errors.Is(err, resource.ErrNotFound)
	if err != nil && !created {
		return Receiver{}, false, fmt.Errorf("alert receiver %s: %w", r.Name, err)
	}
	if err := s.sealPassword(r, old); err != nil {
		return Receiver{}, false, err
	}
	now := s.clock.Now().UTC()
	r.UpdatedAt = now
	if created {
		if err := room(r.Tenant, r.Project, "receivers", MaxReceiversPerProject, func() (int, error) {
			l, err := st.ListAlertReceivers(ctx, r.Tenant, r.Project)
			return len(l), err
		}); err != nil {
			return Receiver{}, false, err
		}
		if r.Token, err = newToken(); err != nil {
			return Receiver{}, false, err
		}
		r.CreatedAt, r.ResourceVersion = now, 1
		if err := st.CreateAlertReceiver(ctx, r); err != nil {
			return Receiver{}, false, fmt.Errorf("create alert receiver %s: %w", r.Name, err)
		}
	} else {
		prev := old.ResourceVersion
		if r.ResourceVersion != 0 && r.ResourceVersion != prev {
			return Receiver{}, false, fmt.Errorf("alert receiver %s: %w", r.Name, resource.ErrConflict)
		}
		r.Token, r.CreatedAt, r.ResourceVersion = old.Token, old.CreatedAt, prev+1
		if err := st.UpdateAlertReceiver(ctx, r, prev); err != nil {
			return Receiver{}, false, fmt.Errorf("update alert receiver %s: %w", r.Name, err)
		}
	}
	s.announce(st, r.Tenant, r.Project)
	action := map[bool]string{true: "create", false: "update"}[created]
	return r, created, s.audit(ctx, st, a, r.Tenant, r.Project, r.Path(), "alert-receiver."+action,
		fmt.Sprintf("%s alert receiver %s (%s, %s)", action+"d", r.Name, r.Kind, r.where()))
}

// sealPassword replaces r's password by its sealed form, or keeps old's
// sealed password when r gives none for the same server and username.
func (s *Service) sealPassword(r, old Receiver) error {
	e := r.Email
	if e == nil {
		return nil
	}
	if e.Password == "" {
		if o := old.Email; old.Kind == EmailKind && o != nil && o.Host == e.Host && o.Username == e.Username && e.Username != "" {
			e.SealedPassword = o.SealedPassword
		}
		return nil
	}
	if s.sealer == nil {
		return errors.New("alert receivers: no sealer for passwords")
	}
	sealed, err := s.sealer.Seal([]byte(e.Password), r.PasswordAAD())
	if err != nil {
		return fmt.Errorf("seal the password of alert receiver %s: %w", r.Name, err)
	}
	e.Password, e.SealedPassword = "", sealed
	return nil
}

// where is r's destination as the audit trail shows it: the redacted URL,
// or the SMTP server and recipients.
func (r Receiver) where() string {
	if r.Email != nil {
		return fmt.Sprintf("smtp %s:%d to %s", r.Email.Host, r.Email.SMTPPort(), strings.Join(r.Email.To, " "))
	}
	return redactURL(r.URL)
}

// DeleteReceiver deletes a receiver.
func (s *Service) DeleteReceiver(ctx context.Context, st Tx, a audit.Actor, tenant, project, name string) error {
	r, err := st.GetAlertReceiver(ctx, tenant, project, name)
	if err != nil {
		return fmt.Errorf("alert receiver %s: %w", name, err)
	}
	if err := st.DeleteAlertReceiver(ctx, tenant, project, name); err != nil {
		return fmt.Errorf("delete alert receiver %s: %w", name, err)
	}
	s.announce(st, tenant, project)
	return s.audit(ctx, st, a, tenant, project, r.Path(), "alert-receiver.delete", "deleted alert receiver "+name)
}

func room(tenant, project, what string, limit int, count func() (int, error)) error {
	n, err := count()
	if err != nil {
		return fmt.Errorf("count alert %s of %s/%s: %w", what, tenant, project, err)
	}
	if n >= limit {
		return resource.Refused("project %s/%s has %d alert %s, the most it may have", tenant, project, n, what)
	}
	return nil
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("receiver token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (s *Service) announce(st Tx, tenant, project string) {
	s.changes.AfterCommit(st, Changed(tenant, project))
}

// Changed is the change event of a project's alerting.
func Changed(tenant, project string) change.Changed {
	return change.Changed{Kind: change.Alert, Key: change.Key{Tenant: tenant, Project: project}}
}

func (s *Service) audit(ctx context.Context, st Tx, a audit.Actor, tenant, project, target, action, summary string) error {
	_, err := audit.Append(ctx, st, s.clock.Now(), a, audit.Event{Tenant: tenant, Project: project, Action: action, Target: target, Summary: summary})
	return err
}

// SortAlerts orders alerts by name, then start.
func SortAlerts(as []Alert) {
	slices.SortFunc(as, func(a, b Alert) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return a.StartsAt.Compare(b.StartsAt)
	})
}
