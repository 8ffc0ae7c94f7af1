package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Anchor is a record of the chain as seen at some moment: its sequence
// number and hash. Verify with anchors proves the chain still holds each.
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Checkpoint is a signed anchor of the chain's head, meant to be stored
// outside the database (a directory, a webhook, an object store) so that a
// rewrite of the database since is found even when the whole chain was
// recomputed. The key that signs it is never in the database.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"keyID"`     // KeyID of the signing key
	Signature []byte    `json:"signature"` // Ed25519 over Message, base64 in JSON
}

// Message is what a checkpoint's signature covers: four lines of text,
// "berth-audit-anchor/v1", then "seq=", "hash=" and "time=" (RFC 3339, UTC,
// nanoseconds), each ending in a newline. It can be checked outside Berth
// with `openssl pkeyutl -verify -rawin`.
func (c Checkpoint) Message() []byte {
	return fmt.Appendf(nil, "berth-audit-anchor/v1\nseq=%d\nhash=%s\ntime=%s\n", c.Seq, c.Hash, c.Time.UTC().Format(time.RFC3339Nano))
}

// Anchor returns the anchor the checkpoint holds.
func (c Checkpoint) Anchor() Anchor { return Anchor{Seq: c.Seq, Hash: c.Hash} }

// Sign returns a checkpoint of head signed with key at t.
func Sign(key ed25519.PrivateKey, head Anchor, t time.Time) Checkpoint {
	c := Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: t.UTC(), KeyID: KeyID(key.Public().(ed25519.PublicKey))}
	c.Signature = ed25519.Sign(key, c.Message())
	return c
}

// ErrSignature means a checkpoint's signature does not verify with the key.
var ErrSignature = errors.New("checkpoint signature does not verify")

// VerifySignature checks c's signature with pub.
func (c Checkpoint) VerifySignature(pub ed25519.PublicKey) error {
	if id := KeyID(pub); c.KeyID != id {
		return fmt.Errorf("%w: signed by key %s, the public key given is %s", ErrSignature, c.KeyID, id)
	}
	if !ed25519.Verify(pub, c.Message(), c.Signature) {
		return ErrSignature
	}
	return nil
}

// KeyID names a public key: the first 16 hex digits of SHA-256 over its
// PKIX (DER) form, which `openssl pkey -pubin -outform DER | sha256sum`
// also computes.
func KeyID(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // cannot fail for an Ed25519 key
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// MarshalPrivateKey encodes key as a PKCS #8 PEM block ("PRIVATE KEY"),
// the form `openssl genpkey -algorithm ed25519` writes.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes pub as a PKIX PEM block ("PUBLIC KEY").
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey decodes an Ed25519 private key in a PKCS #8 PEM block.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("want a PEM block of type PRIVATE KEY (PKCS #8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("want an Ed25519 key, got %T", k)
	}
	return key, nil
}

// ParsePublicKey decodes an Ed25519 public key in a PKIX PEM block.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("want a PEM block of type PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("want an Ed25519 key, got %T", k)
	}
	return pub, nil
}
