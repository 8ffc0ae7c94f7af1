package audit

import "strings"

// relevantRoles keeps the roles that bear on a record of tenant: those
// granted at the platform or inside that tenant. A tenant's auditors read
// its records, and must not learn from them which other tenants the actor
// works for. A record outside every tenant keeps all roles. Roles are
// written "role@platform", "role@tenant/T" or "role@tenant/T/project/P"
// (authz.Scope.String). The result is a new slice.
func relevantRoles(roles []string, tenant string) []string {
	out := []string{}
	for _, r := range roles {
		_, scope, _ := strings.Cut(r, "@")
		if tenant == "" || !strings.HasPrefix(scope, "tenant/") || tenantOf(scope) == tenant {
			out = append(out, r)
		}
	}
	return out
}

// tenantOf is T of "tenant/T" or "tenant/T/project/P".
func tenantOf(scope string) string {
	t, _, _ := strings.Cut(strings.TrimPrefix(scope, "tenant/"), "/")
	return t
}
