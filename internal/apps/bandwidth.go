package apps

import "berth.dev/berth/internal/resource"

// The per-instance bandwidth Kubernetes's bandwidth plugin accepts: at
// least 1 kbit/s, at most 1 Pbit/s.
var (
	MinBandwidth = resource.Units(1000)
	MaxBandwidth = resource.Units(1_000_000_000_000_000)
)

func validateBandwidth(errs *resource.Errors, path string, b *Bandwidth) {
	if b == nil {
		return
	}
	for _, d := range []struct {
		name string
		q    resource.Quantity
	}{{"ingress", b.Ingress}, {"egress", b.Egress}} {
		if d.q != 0 && (d.q < MinBandwidth || d.q > MaxBandwidth) {
			errs.Add(path+"."+d.name, "must be between 1k and 1P bits per second (0: unlimited), got %s", d.q)
		}
	}
	if b.Ingress == 0 && b.Egress == 0 {
		errs.Add(path, "needs ingress or egress; omit bandwidth for none")
	}
}
