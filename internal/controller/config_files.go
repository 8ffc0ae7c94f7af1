package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// configFiles reads, for a controller that renders workloads, the config
// center items a version mounts as files (apps.ConfigRef with a DataID),
// as the version's pods are served them: the gray revision where the
// version is in the item's gray cohort. It remembers which deployment
// mounts which items, before it reads them, so a revision committed after
// the read reconciles the deployment again (Subscribe).
type configFiles struct {
	cfg *configcenter.Service
	db  platform.Transactor

	mu    sync.Mutex
	items map[configcenter.Key]map[deploy.Key]bool
	of    map[deploy.Key][]configcenter.Key
}

func newConfigFiles(cfg *configcenter.Service, db platform.Transactor) *configFiles {
	return &configFiles{cfg: cfg, db: db, items: map[configcenter.Key]map[deploy.Key]bool{}, of: map[deploy.Key][]configcenter.Key{}}
}

// subscribe has enqueue called with every deployment mounting an item
// when a revision of that item is committed.
func (f *configFiles) subscribe(b *change.Bus, enqueue func(deploy.Key)) {
	b.Subscribe(func(ch change.Changed) {
		f.mu.Lock()
		keys := make([]deploy.Key, 0, len(f.items[configcenter.KeyOf(ch.Key)]))
		for k := range f.items[configcenter.KeyOf(ch.Key)] {
			keys = append(keys, k)
		}
		f.mu.Unlock()
		for _, k := range keys {
			enqueue(k)
		}
	}, change.Config)
}

// read returns, for each version (of k's application, deployed in k's
// environment), the files its pods mount; a version mounting none has
// none. An item that does not exist is an error naming its reference.
func (f *configFiles) read(ctx context.Context, k deploy.Key, versions ...apps.Version) ([][]kube.File, error) {
	var keys []configcenter.Key
	seen := map[configcenter.Key]bool{}
	for _, v := range versions {
		for _, ref := range v.Orchestration.ConfigRefs {
			if ck := itemKey(k, ref); ref.IsItem() && !seen[ck] {
				seen[ck] = true
				keys = append(keys, ck)
			}
		}
	}
	f.track(k, keys)
	out := make([][]kube.File, len(versions))
	if len(keys) == 0 {
		return out, nil
	}
	view := func(fn func(configcenter.Store) error) error {
		return f.db.View(ctx, func(tx platform.Tx) error { return fn(tx) })
	}
	for i, v := range versions {
		client := configcenter.Client{Labels: map[string]string{configcenter.LabelApp: k.Application, configcenter.LabelVersion: v.Name}}
		served, err := f.cfg.ServeAll(ctx, view, keys, client)
		if err != nil {
			return nil, fmt.Errorf("config items of %s: %w", v.Name, err)
		}
		for j, ref := range v.Orchestration.ConfigRefs {
			if !ref.IsItem() {
				continue
			}
			s := served[slices.Index(keys, itemKey(k, ref))]
			if s.Revision == 0 {
				return nil, fmt.Errorf("version %s: configRefs[%d]: config item %s does not exist in environment %s: %w",
					v.Name, j, itemKey(k, ref).Name(), k.Environment, resource.ErrNotFound)
			}
			out[i] = append(out[i], kube.File{Group: ref.ItemGroup(), DataID: ref.DataID, Revision: s.Revision, Content: s.Content, Secret: s.Secret})
		}
	}
	return out, nil
}

// track records that k mounts keys (and nothing else).
func (f *configFiles) track(k deploy.Key, keys []configcenter.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ck := range f.of[k] {
		delete(f.items[ck], k)
		if len(f.items[ck]) == 0 {
			delete(f.items, ck)
		}
	}
	if len(keys) == 0 {
		delete(f.of, k)
		return
	}
	f.of[k] = keys
	for _, ck := range keys {
		if f.items[ck] == nil {
			f.items[ck] = map[deploy.Key]bool{}
		}
		f.items[ck][k] = true
	}
}

func itemKey(k deploy.Key, ref apps.ConfigRef) configcenter.Key {
	return configcenter.Key{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Group: ref.ItemGroup(), DataID: ref.DataID}
}
