package servercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
)

// OpenSealer loads the seal key from cfg.SealKeyPath(), creating the
// file (mode 0600) on first start; created says it did. A key file that
// group or others can read is refused.
func OpenSealer(cfg config.Config) (*seal.AESGCM, bool, error) {
	key, created, err := seal.LoadOrCreateKey(cfg.SealKeyPath())
	if err != nil {
		return nil, false, fmt.Errorf("config sealKeyFile: %w", err)
	}
	s, err := seal.New(key)
	if err != nil {
		return nil, false, fmt.Errorf("config sealKeyFile %s: %w", cfg.SealKeyPath(), err)
	}
	return s, created, nil
}

// CheckSealed refuses to go on when the sealed data in the database does
// not open with the key at path (ID keyID): the error names the key ID
// the data needs. A key file just created for the check is removed again.
func CheckSealed(ctx context.Context, p *platform.Platform, path, keyID string, created bool) error {
	err := p.DB.View(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CheckSealed(ctx, tx); err != nil {
			return err
		}
		_, err := p.Config.CheckSealed(ctx, tx) // the config center's secret items
		return err
	})
	if err == nil {
		return nil
	}
	var ke *seal.KeyError
	switch {
	case created && errors.As(err, &ke):
		_ = os.Remove(path)
		return fmt.Errorf("refusing to start: the seal key file %s does not exist and the database holds data sealed under key ID %s: "+
			"restore that key file, or set sealKeyFile to it (%w)", path, ke.Want, err)
	case created:
		_ = os.Remove(path)
		return fmt.Errorf("refusing to start: the seal key file %s does not exist and the database holds sealed data: restore the key file (%w)", path, err)
	case errors.As(err, &ke):
		return fmt.Errorf("refusing to start: the seal key %s has key ID %s but the database holds data sealed under key ID %s: "+
			"set sealKeyFile to the key with ID %s, or re-seal with `berth admin rotate-seal-key` (%w)", path, keyID, ke.Want, ke.Want, err)
	case errors.Is(err, seal.ErrOpen):
		return fmt.Errorf("refusing to start: sealed data in the database does not open with the seal key %s (key ID %s; the data predates key IDs): "+
			"set sealKeyFile to the key that sealed it (%w)", path, keyID, err)
	}
	return fmt.Errorf("check sealed data: %w", err)
}

// RotateSealKey re-seals the sealed data of the database cfg names, from the key
// at cfg.SealKeyPath() to the key at newKeyPath (created if missing), in one transaction
// with a seal.rotate audit record. The server must be stopped meanwhile.
func RotateSealKey(ctx context.Context, cfg config.Config, newKeyPath string, stdout io.Writer) error {
	oldKey, err := seal.LoadKey(cfg.SealKeyPath())
	if err != nil {
		return fmt.Errorf("current key (sealKeyFile): %w", err)
	}
	from, err := seal.New(oldKey)
	if err != nil {
		return err
	}
	key, err := seal.LoadKey(newKeyPath)
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		key, err = seal.CreateKey(newKeyPath)
		created = err == nil
	}
	if err != nil {
		return fmt.Errorf("--new-key-file: %w", err)
	}
	to, err := seal.New(key)
	if err != nil {
		return err
	}
	if to.KeyID() == from.KeyID() {
		return fmt.Errorf("--new-key-file %s: it is the current key (ID %s)", newKeyPath, from.KeyID())
	}
	st, err := store.Open(ctx, cfg.DataDir, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := platform.New(st, platform.Options{Sealer: from})
	if err != nil {
		return err
	}
	if err := CheckSealed(ctx, p, cfg.SealKeyPath(), from.KeyID(), false); err != nil {
		return err
	}
	summary := fmt.Sprintf("seal key rotated from key ID %s to key ID %s by berth admin rotate-seal-key", from.KeyID(), to.KeyID())
	var n, configs int
	err = p.Do(ctx, audit.System, audit.Event{Action: "seal.rotate", Target: "seal", Summary: summary}, func(tx platform.Tx) error {
		if configs, err = p.Config.Reseal(ctx, tx, to); err != nil {
			return err
		}
		n, err = p.Tenancy.Reseal(ctx, tx, audit.System, to, fmt.Sprintf("%s (and %d sealed config contents)", summary, configs))
		return err
	})
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "Created the new seal key %s (key ID %s)\n", newKeyPath, to.KeyID())
	}
	fmt.Fprintf(stdout, "Re-sealed %d cluster kubeconfigs from key ID %s to key ID %s.\n"+
		"Set sealKeyFile to %s (--seal-key-file, BERTH_SEAL_KEY_FILE) and start the server; keep the old key until then.\n",
		n, from.KeyID(), to.KeyID(), newKeyPath)
	return nil
}
