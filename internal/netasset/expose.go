package netasset

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
)

// Exposure asks for a node port for one port of an application deployed
// in an environment: NodePort, when set, is the port wanted; 0 takes the
// next free one of the project's ports on the environment's cluster.
type Exposure struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Application string `json:"application"`
	Environment string `json:"environment"`
	PortName    string `json:"portName"`
	NodePort    int    `json:"nodePort,omitempty"`
}

// Key is the deployment the exposure belongs to.
func (e Exposure) Key() deploy.Key {
	return deploy.Key{Tenant: e.Tenant, Project: e.Project, Application: e.Application, Environment: e.Environment}
}

func validateExposure(e Exposure) error {
	var errs resource.Errors
	errs.CheckName("tenant", e.Tenant)
	errs.CheckName("project", e.Project)
	errs.CheckName("application", e.Application)
	errs.CheckName("environment", e.Environment)
	errs.CheckName("portName", e.PortName)
	if e.NodePort != 0 && (e.NodePort < MinPort || e.NodePort > MaxPort) {
		errs.Add("nodePort", "must be between %d and %d (0: the next free port), got %d", MinPort, MaxPort, e.NodePort)
	}
	return errs.Err()
}

// Expose gives the application's port a node port from its project's ports
// on the environment's cluster: e.NodePort if it is the project's and
// free, else the lowest free one. Exposing an already exposed port again
// returns its allocation (or moves it to a different e.NodePort). The
// deployment must exist and its version must serve the port. Refusals are
// field errors naming the ports.
func (s *Service) Expose(ctx context.Context, st Store, a audit.Actor, e Exposure) (Allocation, error) {
	if err := validateExposure(e); err != nil {
		return Allocation{}, err
	}
	what := fmt.Sprintf("expose %s port %s", e.Key().Path(), e.PortName)
	cluster, err := s.checkExposure(ctx, st, e)
	if err != nil {
		return Allocation{}, fmt.Errorf("%s: %w", what, err)
	}
	grant, err := st.GetGrant(ctx, cluster, e.Tenant, e.Project)
	if errors.Is(err, resource.ErrNotFound) {
		return Allocation{}, fieldErr("nodePort", "project %s/%s has no ports on cluster %s; its tenant admin grants them", e.Tenant, e.Project, cluster)
	}
	if err != nil {
		return Allocation{}, fmt.Errorf("%s: %w", what, err)
	}
	held, err := st.ListAllocations(ctx, AllocationFilter{Cluster: cluster})
	if err != nil {
		return Allocation{}, fmt.Errorf("%s: %w", what, err)
	}
	if i := slices.IndexFunc(held, func(x Allocation) bool { return sameExposure(x, e) }); i >= 0 {
		if e.NodePort == 0 || e.NodePort == held[i].Port {
			return held[i], nil
		}
		if err := st.DeleteAllocation(ctx, cluster, held[i].Port); err != nil {
			return Allocation{}, fmt.Errorf("%s: %w", what, err)
		}
		held = slices.Delete(held, i, i+1)
	}
	port, err := choosePort(grant, held, e.NodePort)
	if err != nil {
		return Allocation{}, err
	}
	al := Allocation{Cluster: cluster, Port: port, Tenant: e.Tenant, Project: e.Project, Application: e.Application,
		Environment: e.Environment, PortName: e.PortName, CreatedBy: a.User, CreatedAt: s.now()}
	if err := st.InsertAllocation(ctx, al); err != nil {
		return Allocation{}, fmt.Errorf("%s: node port %d: %w", what, port, err)
	}
	s.changed(st, e.Key())
	return al, s.record(ctx, st, a, audit.Event{Tenant: e.Tenant, Project: e.Project, Action: "ports.expose",
		Target:  e.Key().Path() + "/ports/" + e.PortName,
		Summary: fmt.Sprintf("exposed %s port %s on node port %d of cluster %s", e.Key().Path(), e.PortName, port, cluster)})
}

func sameExposure(x Allocation, e Exposure) bool {
	return x.Tenant == e.Tenant && x.Project == e.Project && x.Application == e.Application &&
		x.Environment == e.Environment && x.PortName == e.PortName
}

// checkExposure finds the environment's cluster and checks that the
// deployment exists and its version serves the port.
func (s *Service) checkExposure(ctx context.Context, st Store, e Exposure) (string, error) {
	env, err := st.GetEnvironment(ctx, e.Tenant, e.Project, e.Environment)
	if err != nil {
		return "", fmt.Errorf("environment %s: %w", e.Environment, err)
	}
	d, err := st.GetDeployment(ctx, e.Key())
	if err != nil {
		return "", fmt.Errorf("deployment: %w", err)
	}
	v, err := st.GetVersion(ctx, e.Tenant, e.Project, e.Application, d.Version)
	if err != nil {
		return "", fmt.Errorf("version %s: %w", d.Version, err)
	}
	var names []string
	for _, p := range v.Orchestration.Ports {
		if p.Name == e.PortName {
			return env.Cluster, nil
		}
		names = append(names, p.Name)
	}
	return "", fieldErr("portName", "version %s of %s serves no port %q (its ports: %v)", v.Name, e.Application, e.PortName, names)
}

// choosePort picks want, or the lowest free port of grant when want is 0.
func choosePort(grant Grant, held []Allocation, want int) (int, error) {
	used := make([]int, 0, len(held))
	for _, x := range held {
		used = append(used, x.Port)
	}
	if want != 0 {
		if !grant.Ports.Contains(want) {
			return 0, fieldErr("nodePort", "port %d is not among the ports of %s (%s)", want, grant.Scope(), orNone(grant.Ports))
		}
		if i := slices.IndexFunc(held, func(x Allocation) bool { return x.Port == want }); i >= 0 {
			return 0, fieldErr("nodePort", "port %d is already used by %s (%s)", want, held[i].Holder(), held[i].PortName)
		}
		return want, nil
	}
	port, ok := grant.Ports.Subtract(Of(used...)).First()
	if !ok {
		return 0, fieldErr("nodePort", "every port of %s (%s) is in use", grant.Scope(), orNone(grant.Ports))
	}
	return port, nil
}

// Unexpose returns the node port of the application's port (every exposed
// port when portName is empty) to its project's pool.
func (s *Service) Unexpose(ctx context.Context, st Store, a audit.Actor, k deploy.Key, portName string) error {
	what := fmt.Sprintf("stop exposing %s", k.Path())
	held, err := st.ListAllocations(ctx, AllocationFilter{Tenant: k.Tenant, Project: k.Project, Application: k.Application, Environment: k.Environment})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	held = slices.DeleteFunc(held, func(x Allocation) bool { return portName != "" && x.PortName != portName })
	if len(held) == 0 {
		return fmt.Errorf("%s port %q: %w", what, portName, resource.ErrNotFound)
	}
	ports := make([]int, len(held))
	for i, x := range held {
		if err := st.DeleteAllocation(ctx, x.Cluster, x.Port); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		ports[i] = x.Port
	}
	s.changed(st, k)
	return s.record(ctx, st, a, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "ports.release",
		Target:  k.Path() + "/ports",
		Summary: fmt.Sprintf("stopped exposing %s; node ports %s of cluster %s returned to the pool", k.Path(), Of(ports...), held[0].Cluster)})
}

func (s *Service) changed(st Store, k deploy.Key) {
	s.changes.AfterCommit(st, k.Change(change.Network))
}

func fieldErr(path, format string, args ...any) error {
	return &resource.ValidationError{Fields: []resource.FieldError{{Path: path, Reason: fmt.Sprintf(format, args...)}}}
}
