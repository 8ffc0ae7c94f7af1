// Package benchdb opens the store a benchmark measures, as its -db and
// -url flags say: SQLite in a directory of the benchmark's, or PostgreSQL
// at a URL.
package benchdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"berth.dev/berth/internal/store"
)

// Open opens the store: db "sqlite" in dir, or "postgres" at url.
func Open(ctx context.Context, db, url, dir string) (*store.Store, error) {
	switch db {
	case "sqlite":
		return store.OpenSQLite(ctx, filepath.Join(dir, store.SQLiteFile))
	case "postgres":
		if url == "" {
			return nil, errors.New("-db postgres needs -url")
		}
		return store.OpenPostgres(ctx, url)
	}
	return nil, fmt.Errorf("-db: want sqlite or postgres, got %q", db)
}
