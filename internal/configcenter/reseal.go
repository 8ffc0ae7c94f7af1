package configcenter

import (
	"context"
	"fmt"
)

// CheckSealed opens every sealed content with the service's sealer and
// returns how many there are, or the first that does not open.
func (s *Service) CheckSealed(ctx context.Context, st Store) (int, error) {
	return s.resealed(ctx, st, nil, nil)
}

// Reseal opens every sealed content (current, gray and of every revision)
// with the service's sealer and seals it again with to, in st's
// transaction; it returns how many it re-sealed. The caller records the
// rotation (tenancy.Service.Reseal does, for the whole key).
func (s *Service) Reseal(ctx context.Context, st Tx, to Sealer) (int, error) {
	return s.resealed(ctx, st, st, to)
}

// resealed walks every sealed content; with to it seals each again and
// writes it through w.
func (s *Service) resealed(ctx context.Context, st Store, w Tx, to Sealer) (int, error) {
	n := 0
	again := func(k Key, sealed []byte) ([]byte, error) {
		if sealed == nil {
			return nil, nil
		}
		plain, err := s.sealer.Open(sealed, []byte(k.Path()))
		if err != nil {
			return nil, fmt.Errorf("open config %s of %s: %w", k.Name(), k.Env().Namespace(), err)
		}
		n++
		if to == nil {
			return sealed, nil
		}
		return to.Seal(plain, []byte(k.Path()))
	}
	items, err := st.SecretConfigItems(ctx)
	if err != nil {
		return 0, fmt.Errorf("secret configs: %w", err)
	}
	for _, it := range items {
		if it.Sealed, err = again(it.Key, it.Sealed); err != nil {
			return 0, err
		}
		if it.Gray != nil {
			if it.Gray.Sealed, err = again(it.Key, it.Gray.Sealed); err != nil {
				return 0, err
			}
		}
		if w != nil {
			prev := it.ResourceVersion
			it.ResourceVersion++
			if err := w.UpdateConfigItem(ctx, it, prev); err != nil {
				return 0, fmt.Errorf("re-seal config %s: %w", it.Name(), err)
			}
		}
	}
	revs, err := st.SecretConfigRevisions(ctx)
	if err != nil {
		return 0, fmt.Errorf("secret config revisions: %w", err)
	}
	for _, r := range revs {
		if r.Sealed, err = again(r.Key, r.Sealed); err != nil {
			return 0, err
		}
		if w != nil {
			if err := w.UpdateConfigRevision(ctx, r); err != nil {
				return 0, fmt.Errorf("re-seal revision %d of config %s: %w", r.Number, r.Name(), err)
			}
		}
	}
	return n, nil
}
