package gateway

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"berth.dev/berth/internal/resource"
)

// Unit is one app with the routes that send traffic to it: the part of a
// configuration a delta of the stream replaces (docs/adr/0022). Every
// route of a configuration names one app, so a configuration is exactly
// the set of its units, ordered by app name.
type Unit struct {
	App    App     `json:"app"`
	Routes []Route `json:"routes"`
}

// Units splits c into its units in app name order; routes keep their
// order within a unit. It keeps none of c's slices. Routes naming no app
// of c are left out (c.Validate refuses them).
func (c Config) Units() []*Unit {
	byApp := make(map[string]*Unit, len(c.Apps))
	units := make([]*Unit, 0, len(c.Apps))
	for _, a := range c.Apps {
		u := &Unit{App: a, Routes: []Route{}}
		byApp[a.Name] = u
		units = append(units, u)
	}
	for _, r := range c.Routes {
		if u, ok := byApp[r.App]; ok {
			u.Routes = append(u.Routes, r)
		}
	}
	slices.SortStableFunc(units, func(a, b *Unit) int { return cmp.Compare(a.App.Name, b.App.Name) })
	return units
}

// validate checks u on its own: its app and routes as Config.Validate
// would, each route naming u's app. Paths start with "units[<app>]".
func (u *Unit) validate() []*resource.FieldError {
	var errs []*resource.FieldError
	p := fmt.Sprintf("units[%q]", u.App.Name)
	if err := (Config{Apps: []App{u.App}, Routes: u.Routes}).Validate(); err != nil {
		for _, f := range asValidation(err) {
			errs = append(errs, &resource.FieldError{Path: p + "." + f.Path, Reason: f.Reason})
		}
	}
	return errs
}

// encodedUnit is a unit as the stream carries it: its JSON, split so that
// both stream versions are written from it without encoding again, and
// the SHA-256 of the unit's JSON.
type encodedUnit struct {
	src    *Unit  // what was published; nil on the gateway's side
	app    []byte // JSON of App
	routes []byte // JSON of each route, comma separated, without brackets
	data   []byte // JSON of the unit: {"app":…,"routes":[…]}
	hash   [32]byte
	seen   uint64 // the publisher's last Set that named it
}

func sources(es []*encodedUnit) []*Unit {
	out := make([]*Unit, len(es))
	for i, e := range es {
		out[i] = e.src
	}
	return out
}

func encodeUnit(u *Unit) (*encodedUnit, error) {
	app, err := json.Marshal(u.App)
	if err != nil {
		return nil, fmt.Errorf("encode app %s: %w", u.App.Name, err)
	}
	var routes bytes.Buffer
	for i, r := range u.Routes {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode route %s: %w", r.Name, err)
		}
		if i > 0 {
			routes.WriteByte(',')
		}
		routes.Write(b)
	}
	data := make([]byte, 0, len(app)+routes.Len()+20)
	data = append(data, `{"app":`...)
	data = append(data, app...)
	data = append(data, `,"routes":[`...)
	data = append(data, routes.Bytes()...)
	data = append(data, "]}"...)
	return &encodedUnit{src: u, app: app, routes: routes.Bytes(), data: data, hash: sha256.Sum256(data)}, nil
}

// digest names a configuration by its units without encoding it whole:
// the SHA-256 of 256 bucket sums, bucket b's sum being the SHA-256 of the
// sorted hashes of the units whose hash starts with byte b. Replacing k
// units costs k bucket sums (of about n/256 hashes each) and one sum of
// 8 KiB, and two sides holding the same units compute the same name
// whatever the order they received them in. The zero digest has no units.
type digest struct {
	buckets [256][][32]byte // sorted
	sums    [256][32]byte   // zero: the bucket was never summed (empty)
}

var emptySum = sha256.Sum256(nil)

// with returns the name of d's units less removed plus added, and a
// function that makes d hold them. d is unchanged until commit is called.
func (d *digest) with(removed, added [][32]byte) (id string, commit func()) {
	changed := map[byte][][32]byte{}
	bucket := func(b byte) [][32]byte {
		if s, ok := changed[b]; ok {
			return s
		}
		return slices.Clone(d.buckets[b])
	}
	for _, h := range removed {
		s := bucket(h[0])
		if i, ok := slices.BinarySearchFunc(s, h, compareHash); ok {
			s = slices.Delete(s, i, i+1)
		}
		changed[h[0]] = s
	}
	for _, h := range added {
		s := bucket(h[0])
		if i, ok := slices.BinarySearchFunc(s, h, compareHash); !ok {
			s = slices.Insert(s, i, h)
		}
		changed[h[0]] = s
	}
	sums := d.sums
	for b, s := range changed {
		sums[b] = sumBucket(s)
	}
	root := sha256.New()
	for b := range sums {
		if sums[b] == ([32]byte{}) {
			sums[b] = emptySum
		}
		root.Write(sums[b][:])
	}
	return hex.EncodeToString(root.Sum(nil)), func() {
		for b, s := range changed {
			d.buckets[b] = s
		}
		d.sums = sums
	}
}

func sumBucket(s [][32]byte) [32]byte {
	h := sha256.New()
	for _, x := range s {
		h.Write(x[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func compareHash(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) }

// checkRouteNames reports the routes of put whose names another unit
// holds in owner (route name → app name) once the units freed are gone,
// or that two units of put share.
func checkRouteNames(owner map[string]string, freed, put []*Unit) []*resource.FieldError {
	free := map[string]bool{}
	for _, u := range freed {
		for _, r := range u.Routes {
			free[r.Name] = true
		}
	}
	taken := map[string]string{}
	var errs []*resource.FieldError
	for _, u := range put {
		for i, r := range u.Routes {
			holder, ok := taken[r.Name]
			if !ok && !free[r.Name] {
				holder, ok = owner[r.Name]
			}
			if ok && holder != u.App.Name {
				errs = append(errs, &resource.FieldError{Path: fmt.Sprintf("units[%q].routes[%d].name", u.App.Name, i),
					Reason: fmt.Sprintf("duplicate route %q (app %q has it)", r.Name, holder)})
			}
			taken[r.Name] = u.App.Name
		}
	}
	return errs
}

// releaseRouteNames forgets the route names of units.
func releaseRouteNames(owner map[string]string, units []*Unit) {
	for _, u := range units {
		for _, r := range u.Routes {
			delete(owner, r.Name)
		}
	}
}

// claimRouteNames records the route names of units.
func claimRouteNames(owner map[string]string, units []*Unit) {
	for _, u := range units {
		for _, r := range u.Routes {
			owner[r.Name] = u.App.Name
		}
	}
}
