package auditcmd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
	"berth.dev/berth/internal/keyfile"
)

// maxCheckpoint bounds one checkpoint file.
const maxCheckpoint = 4 << 10

func keygen(env cli.Env) *cobra.Command {
	var keyPath, pubPath string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate the Ed25519 key pair that signs audit anchors",
		Long: "Generate the Ed25519 key pair that signs audit anchors: the private key (PKCS #8 PEM, mode 0600)\n" +
			"stays with whoever runs `berth audit anchor`, never in Berth's database; the public key (PEM)\n" +
			"goes to whoever runs `berth audit verify --anchors`. OpenSSL makes the same files:\n" +
			"  openssl genpkey -algorithm ed25519 -out anchor.key && openssl pkey -in anchor.key -pubout -out anchor.pub",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, key, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return fmt.Errorf("generate key: %w", err)
			}
			privPEM, err := audit.MarshalPrivateKey(key)
			if err != nil {
				return err
			}
			pubPEM, err := audit.MarshalPublicKey(pub)
			if err != nil {
				return err
			}
			if err := keyfile.Create(keyPath, privPEM); err != nil {
				return err
			}
			if err := os.WriteFile(pubPath, pubPEM, 0o644); err != nil { //nolint:gosec // a public key
				return fmt.Errorf("write public key: %w", err)
			}
			fmt.Fprintf(env.Stdout, "Key %s: private key %s, public key %s\n", audit.KeyID(pub), keyPath, pubPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "audit-anchor.key", "where to write the private key (must not exist)")
	cmd.Flags().StringVar(&pubPath, "public-key", "audit-anchor.pub", "where to write the public key")
	return cmd
}

func anchor(env cli.Env) *cobra.Command {
	var keyPath, dir, webhook string
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Sign a checkpoint of the audit chain's head and store it outside the database",
		Long: "Verify the audit chain (and that it holds the checkpoints already in --dir), then sign a\n" +
			"checkpoint of its head (sequence number, hash, time) with the Ed25519 key in --key and write it\n" +
			"to --dir, and POST it as JSON to --webhook if given. Run it regularly (cron), more often than the\n" +
			"audit retention, and keep --dir where the database's administrators cannot write.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := readPrivateKey(keyPath)
			if err != nil {
				return err
			}
			pub := key.Public().(ed25519.PublicKey)
			if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // checkpoints are public
				return fmt.Errorf("create --dir: %w", err)
			}
			anchors, err := readAnchors(dir, pub)
			if err != nil {
				return err
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			rep, err := verifyChain(cmd.Context(), env, s, anchors)
			if err != nil {
				return fmt.Errorf("refusing to anchor: %w", err)
			}
			if rep.To == 0 {
				return errors.New("the audit trail is empty: nothing to anchor")
			}
			c := audit.Sign(key, audit.Anchor{Seq: rep.To, Hash: rep.HeadHash}, time.Now())
			data, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				return err
			}
			data = append(data, '\n')
			path := filepath.Join(dir, fmt.Sprintf("anchor-%012d-%d.json", c.Seq, c.Time.Unix()))
			if err := os.WriteFile(path, data, 0o644); err != nil { //nolint:gosec // checkpoints are public
				return fmt.Errorf("write checkpoint: %w", err)
			}
			fmt.Fprintf(env.Stdout, "Anchored record %d (hash %s) in %s\n", c.Seq, c.Hash, path)
			if webhook != "" {
				if err := post(cmd.Context(), webhook, data); err != nil {
					return fmt.Errorf("checkpoint written to %s but not sent: %w", path, err)
				}
				fmt.Fprintf(env.Stdout, "Sent to %s\n", webhook)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "PEM file of the Ed25519 private key (mode 0600; from `berth audit keygen`)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory the checkpoint is written to")
	cmd.Flags().StringVar(&webhook, "webhook", "", "URL the checkpoint is also POSTed to as JSON")
	_ = cmd.MarkFlagRequired("key")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func post(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("post checkpoint: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post checkpoint: %s answered %s", url, resp.Status)
	}
	return nil
}

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := keyfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	key, err := audit.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	return key, nil
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := readBounded(path, keyfile.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("--public-key: %w", err)
	}
	pub, err := audit.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("--public-key %s: %w", path, err)
	}
	return pub, nil
}

// readAnchors reads every checkpoint (*.json) in dir and checks its
// signature with pub: a checkpoint that does not verify is an error, not
// skipped, since whoever can rewrite the database might plant one.
func readAnchors(dir string, pub ed25519.PublicKey) ([]audit.Anchor, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("read anchors: %w", err)
	}
	if len(names) > audit.MaxAnchors {
		return nil, fmt.Errorf("anchors %s: %d checkpoints, at most %d: move older ones away", dir, len(names), audit.MaxAnchors)
	}
	out := make([]audit.Anchor, 0, len(names))
	for _, name := range names {
		data, err := readBounded(name, maxCheckpoint)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		var c audit.Checkpoint
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
		if err := c.VerifySignature(pub); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
		out = append(out, c.Anchor())
	}
	return out, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
