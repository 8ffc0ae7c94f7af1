package release

import (
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/resource"
)

// MaxItems bounds the items of one order.
const MaxItems = 500

// Stages turns the shorthand of ordered stages, each stage's applications
// in parallel, into dependencies: every item of a stage depends on every
// item of the stage before. It keeps none of stages' slices.
func Stages(stages [][]Item) []Item {
	var out []Item
	var prev []string
	for _, stage := range stages {
		var names []string
		for _, it := range stage {
			it.DependsOn = append(append([]string{}, it.DependsOn...), prev...)
			out = append(out, it)
			names = append(names, it.Application)
		}
		prev = names
	}
	return out
}

// validateItems checks the items' names, duplicates, dependencies and
// deadlines, and that the dependencies form no cycle, naming the item at
// fault as "items[i]...".
func validateItems(items []Item) error {
	var errs resource.Errors
	if len(items) == 0 {
		errs.Add("items", "an order needs at least one item")
	}
	if len(items) > MaxItems {
		errs.Add("items", "at most %d items, got %d", MaxItems, len(items))
	}
	index := map[string]int{}
	for i, it := range items {
		p := fmt.Sprintf("items[%d]", i)
		errs.CheckName(p+".application", it.Application)
		errs.CheckName(p+".version", it.Version)
		if j, dup := index[it.Application]; dup {
			errs.Add(p+".application", "%s is already items[%d]: an order changes an application once", it.Application, j)
			continue
		}
		index[it.Application] = i
		if it.Deadline != nil && (it.Deadline.Duration < time.Second || it.Deadline.Duration > 24*time.Hour) {
			errs.Add(p+".deadline", "want between 1s and 24h, got %s", it.Deadline.Duration)
		}
		analysis.Validate(&errs, p+".checks", it.Checks, false)
	}
	for i, it := range items {
		seen := map[string]bool{}
		for j, dep := range it.DependsOn {
			p := fmt.Sprintf("items[%d].dependsOn[%d]", i, j)
			switch _, ok := index[dep]; {
			case dep == it.Application:
				errs.Add(p, "%s cannot depend on itself", dep)
			case !ok:
				errs.Add(p, "%s is not an item of this order", dep)
			case seen[dep]:
				errs.Add(p, "%s is listed twice", dep)
			}
			seen[dep] = true
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if cycle := findCycle(items, index); cycle != nil {
		i := index[cycle[0]]
		errs.Add(fmt.Sprintf("items[%d].dependsOn", i), "dependencies form a cycle: %s", strings.Join(cycle, " → "))
	}
	return errs.Err()
}

// findCycle returns one dependency cycle as the applications along it
// (first repeated at the end), or nil.
func findCycle(items []Item, index map[string]int) []string {
	const (
		unseen = iota
		onPath
		done
	)
	mark := make([]int, len(items))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		mark[i] = onPath
		path = append(path, items[i].Application)
		for _, dep := range items[i].DependsOn {
			j := index[dep]
			switch mark[j] {
			case onPath:
				start := 0
				for k, a := range path {
					if a == dep {
						start = k
					}
				}
				return append(append([]string{}, path[start:]...), dep)
			case unseen:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		mark[i] = done
		return nil
	}
	for i := range items {
		if mark[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// dependents maps each application to the items that depend on it.
func dependents(items []Item) map[string][]string {
	out := map[string][]string{}
	for _, it := range items {
		for _, dep := range it.DependsOn {
			out[dep] = append(out[dep], it.Application)
		}
	}
	return out
}
