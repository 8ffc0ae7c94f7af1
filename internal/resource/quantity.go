package resource

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Name names a quota-governed resource.
type Name string

// The resources quotas govern.
const (
	CPU         Name = "cpu"         // cores; "500m" is half a core
	Memory      Name = "memory"      // bytes; "4Gi"
	Containers  Name = "containers"  // count of running containers (replicas)
	Storage     Name = "storage"     // bytes of persistent storage
	ConfigItems Name = "configItems" // count of configuration items referenced
	// IngressBandwidth and EgressBandwidth are bits per second ("10M",
	// "1G"): the sum over instances of what each may use (package netasset).
	IngressBandwidth Name = "ingressBandwidth"
	EgressBandwidth  Name = "egressBandwidth"
)

// Names lists every governed resource in display order.
var Names = []Name{CPU, Memory, Containers, Storage, ConfigItems, IngressBandwidth, EgressBandwidth}

// Known reports whether n is a governed resource.
func (n Name) Known() bool {
	for _, k := range Names {
		if n == k {
			return true
		}
	}
	return false
}

// Quantity is an amount in thousandths of the resource's unit: 1 CPU core is
// 1000, 1 byte is 1000, one container is 1000. Kubernetes notation is used
// in text and JSON: "500m", "2", "4Gi", "10G".
type Quantity int64

// MaxQuantity bounds every amount a user states (quotas, tier and raw
// requests): 2^60 thousandths, about 1 EiB of bytes or 10^15 cores.
// Products saturate at it (Times), so arithmetic on valid amounts cannot
// overflow into a negative that slips under a quota.
const MaxQuantity Quantity = 1 << 60

// Times returns q*n, saturating at MaxQuantity (and at 0 for n <= 0).
func (q Quantity) Times(n int64) Quantity {
	if q <= 0 || n <= 0 {
		return 0
	}
	if q >= MaxQuantity || n >= int64(MaxQuantity/q) {
		return MaxQuantity
	}
	return q * Quantity(n)
}

// Milli returns q in thousandths of the unit.
func (q Quantity) Milli() int64 { return int64(q) }

// Value returns q in whole units, rounded up.
func (q Quantity) Value() int64 {
	v := int64(q) / 1000
	if int64(q)%1000 > 0 {
		v++
	}
	return v
}

// Units returns a Quantity of n whole units.
func Units(n int64) Quantity { return Quantity(n * 1000) }

// MilliUnits returns a Quantity of n thousandths.
func MilliUnits(n int64) Quantity { return Quantity(n) }

var suffixes = []struct {
	s   string
	mul int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
}

// ParseQuantity parses Kubernetes notation: a non-negative decimal number
// with an optional suffix m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei.
// Amounts finer than a thousandth are rounded up; values beyond the range
// of Quantity are an error.
func ParseQuantity(s string) (Quantity, error) {
	if s == "" || len(s) > 64 {
		return 0, fmt.Errorf("quantity %q: want a number such as 500m, 2 or 4Gi", s)
	}
	num, mul := s, big.NewRat(1000, 1)
	if strings.HasSuffix(s, "m") {
		num, mul = s[:len(s)-1], big.NewRat(1, 1)
	} else {
		for _, sf := range suffixes {
			if strings.HasSuffix(s, sf.s) {
				num = s[:len(s)-len(sf.s)]
				mul = new(big.Rat).SetInt64(sf.mul)
				mul.Mul(mul, big.NewRat(1000, 1))
				break
			}
		}
	}
	if num == "" || strings.ContainsAny(num, "eE+-_/ ") || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
		return 0, fmt.Errorf("quantity %q: want a non-negative number such as 500m, 2 or 4Gi", s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("quantity %q: want a non-negative number such as 500m, 2 or 4Gi", s)
	}
	r.Mul(r, mul)
	// round up to a whole thousandth
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if new(big.Rat).SetInt(n).Cmp(r) < 0 {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsInt64() || n.Int64() > math.MaxInt64/2 {
		return 0, fmt.Errorf("quantity %q: too large", s)
	}
	return Quantity(n.Int64()), nil
}

// String formats q in Kubernetes notation, the shortest exact form:
// "500m", "2", "4Gi".
func (q Quantity) String() string {
	m := int64(q)
	if m%1000 != 0 {
		return strconv.FormatInt(m, 10) + "m"
	}
	v := m / 1000
	if v >= 1<<20 {
		for i := 5; i >= 0; i-- { // Ei down to Ki
			sf := suffixes[i]
			if v%sf.mul == 0 {
				return strconv.FormatInt(v/sf.mul, 10) + sf.s
			}
		}
	}
	return strconv.FormatInt(v, 10)
}

// MarshalText formats q as [Quantity.String] does.
func (q Quantity) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalJSON accepts a string ("500m", "4Gi") or a JSON number of whole
// units (2, 0.5).
func (q *Quantity) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseQuantity(s)
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// List maps resources to amounts. A resource absent from a quota's list is
// not limited.
type List map[Name]Quantity

// Add returns a + b for every resource in either; it keeps neither map.
func (a List) Add(b List) List {
	out := List{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] += v
	}
	return out
}

// Sub returns a - b for every resource in either; it keeps neither map.
func (a List) Sub(b List) List {
	out := List{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] -= v
	}
	return out
}

// Scale returns a with every amount multiplied by n, saturating at
// MaxQuantity (see Times).
func (a List) Scale(n int64) List {
	out := List{}
	for k, v := range a {
		out[k] = v.Times(n)
	}
	return out
}

// Names returns the resources in a, in display order.
func (a List) Names() []Name {
	out := make([]Name, 0, len(a))
	for k := range a {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func rank(n Name) int {
	for i, k := range Names {
		if k == n {
			return i
		}
	}
	return len(Names)
}

// Validate records errors at path for unknown resources and negative amounts.
func (a List) Validate(errs *Errors, path string) {
	for _, n := range a.Names() {
		if !n.Known() {
			errs.Add(path+"."+string(n), "unknown resource; want one of cpu, memory, containers, storage, configItems, ingressBandwidth, egressBandwidth")
			continue
		}
		switch {
		case a[n] < 0:
			errs.Add(path+"."+string(n), "must not be negative, got %s", a[n])
		case a[n] > MaxQuantity:
			errs.Add(path+"."+string(n), "must be at most %s, got %s", MaxQuantity, a[n])
		}
	}
}
