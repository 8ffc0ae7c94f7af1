package gray

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// Level is a level of a bank's organisation.
type Level string

// Levels, from the widest.
const (
	Region Level = "region"
	Branch Level = "branch"
	Teller Level = "teller"
)

func (l Level) parent() Level {
	switch l {
	case Branch:
		return Region
	case Teller:
		return Branch
	}
	return ""
}

// OrgUnit is one entry of a tenant's org directory: a region, branch or
// teller, known by its Code (the header value requests carry) and its Name
// (what people pick it by). Branches name their region, tellers their
// branch, in Parent (a code).
type OrgUnit struct {
	Level  Level  `json:"level"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
}

// The limits of an org directory import, the same for `berth org import`
// and the server (docs/gray.md): at most MaxOrgUnits units, read from a CSV
// file of at most MaxOrgCSVBytes. Beyond either the import is refused with
// an error naming the limit; nothing is ever truncated.
const (
	MaxOrgUnits    = 100000
	MaxOrgCSVBytes = 8 << 20
)

// ParseCSV reads an org directory: a header line "level,code,name,parent"
// then one unit per line. Every bad line and field is reported at once,
// named "line N: field" with N counted from 1 at the header. It reads at
// most MaxOrgCSVBytes+1 bytes of r: a longer file is refused at "csv".
func ParseCSV(r io.Reader) ([]OrgUnit, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxOrgCSVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read org directory: %w", err)
	}
	if len(data) > MaxOrgCSVBytes {
		return nil, &resource.ValidationError{Fields: []resource.FieldError{{Path: "csv",
			Reason: fmt.Sprintf("larger than %d bytes (8 MiB), the limit of an org directory import", MaxOrgCSVBytes)}}}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &resource.ValidationError{Fields: []resource.FieldError{{Path: "line 1", Reason: "empty file; want the header level,code,name,parent"}}}
	}
	if err != nil {
		return nil, csvError(err)
	}
	if strings.Join(head, ",") != "level,code,name,parent" {
		return nil, &resource.ValidationError{Fields: []resource.FieldError{{Path: "line 1",
			Reason: fmt.Sprintf("want the header level,code,name,parent, got %q", strings.Join(head, ","))}}}
	}
	var units []OrgUnit
	var errs resource.Errors
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(units) >= MaxOrgUnits {
			errs.Add(fmt.Sprintf("line %d", line), "more than %d units, the limit of an org directory", MaxOrgUnits)
			break
		}
		if len(rec) != 4 {
			errs.Add(fmt.Sprintf("line %d", line), "want 4 fields (level,code,name,parent), got %d", len(rec))
			continue
		}
		units = append(units, OrgUnit{Level: Level(rec[0]), Code: rec[1], Name: rec[2], Parent: rec[3]})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if err := ValidateOrg(units, func(i int) string { return fmt.Sprintf("line %d", i+2) }); err != nil {
		return nil, err
	}
	return units, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: fmt.Sprintf("line %d", pe.Line), Reason: pe.Err.Error()}}}
	}
	return fmt.Errorf("read org directory: %w", err)
}

// ValidateOrg checks a directory: known levels, codes and names present
// and unique per level, parents that exist one level up. where names unit i
// in errors ("line 3", "units[2]").
func ValidateOrg(units []OrgUnit, where func(i int) string) error {
	var errs resource.Errors
	codes := map[Level]map[string]bool{Region: {}, Branch: {}, Teller: {}}
	names := map[Level]map[string]bool{Region: {}, Branch: {}, Teller: {}}
	for i, u := range units {
		p := where(i)
		if codes[u.Level] == nil {
			errs.Add(p+": level", "want region, branch or teller, got %q", u.Level)
			continue
		}
		switch {
		case u.Code == "" || len(u.Code) > 128 || strings.TrimSpace(u.Code) != u.Code:
			errs.Add(p+": code", "want a code of 1-128 characters without surrounding spaces, got %q", u.Code)
		case codes[u.Level][u.Code]:
			errs.Add(p+": code", "duplicate %s code %q", u.Level, u.Code)
		}
		switch {
		case u.Name == "" || len(u.Name) > 200:
			errs.Add(p+": name", "want a name of 1-200 characters")
		case names[u.Level][u.Name]:
			errs.Add(p+": name", "duplicate %s name %q", u.Level, u.Name)
		}
		codes[u.Level][u.Code], names[u.Level][u.Name] = true, true
	}
	for i, u := range units {
		up := u.Level.parent()
		switch {
		case codes[u.Level] == nil:
		case up == "" && u.Parent != "":
			errs.Add(where(i)+": parent", "a region has no parent, got %q", u.Parent)
		case up != "" && !codes[up][u.Parent]:
			errs.Add(where(i)+": parent", "no %s with code %q for %s %s", up, u.Parent, u.Level, u.Code)
		}
	}
	return errs.Err()
}

// ImportOrg replaces the tenant's org directory with units.
func (s *Service) ImportOrg(ctx context.Context, st Store, a audit.Actor, tenant string, units []OrgUnit) error {
	var errs resource.Errors
	errs.CheckName("tenant", tenant)
	if len(units) > MaxOrgUnits {
		errs.Add("units", "%d units, more than %d, the limit of an org directory", len(units), MaxOrgUnits)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if err := ValidateOrg(units, func(i int) string { return fmt.Sprintf("units[%d]", i) }); err != nil {
		return err
	}
	if _, err := st.GetTenant(ctx, tenant); err != nil {
		return fmt.Errorf("import org directory of %s: %w", tenant, err)
	}
	if err := st.ReplaceOrgUnits(ctx, tenant, units); err != nil {
		return fmt.Errorf("import org directory of %s: %w", tenant, err)
	}
	n := map[Level]int{}
	for _, u := range units {
		n[u.Level]++
	}
	_, err := audit.Append(ctx, st, s.now(), a, audit.Event{Tenant: tenant, Action: "org.import", Target: "tenants/" + tenant + "/org",
		Summary: fmt.Sprintf("imported the org directory: %d regions, %d branches, %d tellers", n[Region], n[Branch], n[Teller])})
	return err
}

// resolve turns each cohort value of steps into a code: a value that is a
// code of that level stays, one that is a name becomes its code. With an
// empty directory values are taken as codes; with a directory, a value
// found in neither is an error naming the field.
func resolve(dir []OrgUnit, steps []Step) ([]Step, error) {
	if len(dir) == 0 {
		return steps, nil
	}
	ix := IndexOrg(dir)
	var errs resource.Errors
	out := make([]Step, len(steps))
	for i, s := range steps {
		out[i] = s
		field := fmt.Sprintf("steps[%d]", i)
		out[i].Regions, out[i].Branches, out[i].Tellers = ix.Resolve(&errs, field, s.Regions, s.Branches, s.Tellers)
	}
	return out, errs.Err()
}

// OrgIndex finds org units by code or name, per level.
type OrgIndex struct {
	empty  bool
	byCode map[Level]map[string]bool
	byName map[Level]map[string]string
}

// IndexOrg indexes a tenant's org directory.
func IndexOrg(dir []OrgUnit) OrgIndex {
	ix := OrgIndex{empty: len(dir) == 0, byCode: map[Level]map[string]bool{Region: {}, Branch: {}, Teller: {}},
		byName: map[Level]map[string]string{Region: {}, Branch: {}, Teller: {}}}
	for _, u := range dir {
		if ix.byCode[u.Level] != nil {
			ix.byCode[u.Level][u.Code] = true
			ix.byName[u.Level][u.Name] = u.Code
		}
	}
	return ix
}

// Resolve turns regions, branches and tellers, each a code or a name,
// into codes; one found in neither is an error naming field.level[j].
// With an empty directory values are taken as codes.
func (ix OrgIndex) Resolve(errs *resource.Errors, field string, regions, branches, tellers []string) (r, b, t []string) {
	if ix.empty {
		return regions, branches, tellers
	}
	for _, l := range []struct {
		level Level
		name  string
		in    []string
		out   *[]string
	}{{Region, "regions", regions, &r}, {Branch, "branches", branches, &b}, {Teller, "tellers", tellers, &t}} {
		for j, v := range l.in {
			code, isName := ix.byName[l.level][v]
			switch {
			case ix.byCode[l.level][v]:
				*l.out = append(*l.out, v)
			case isName:
				*l.out = append(*l.out, code)
			default:
				errs.Add(fmt.Sprintf("%s.%s[%d]", field, l.name, j), "no %s with code or name %q in the org directory", l.level, v)
			}
		}
	}
	return r, b, t
}
