package audit

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// rfc8032Seed is the private key of RFC 8032's first Ed25519 test vector.
const rfc8032Seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"

// TestCheckpointVector pins the signed message, the key ID and the
// signature to values computed with OpenSSL, so anchors can be checked
// without Berth:
//
//	printf 'berth-audit-anchor/v1\nseq=42\nhash=0a87…205d\ntime=2026-03-01T09:00:00Z\n' > msg
//	openssl pkeyutl -sign -inkey k.pem -rawin -in msg | xxd -p -c 200
//	openssl pkey -in k.pem -pubout -outform DER | sha256sum | cut -c1-16
func TestCheckpointVector(t *testing.T) {
	seed, _ := hex.DecodeString(rfc8032Seed)
	key := ed25519.NewKeyFromSeed(seed)
	hash := "0a872061210044cda4918e79ca996ad70c09d78e928e34cc82af35c11096205d"
	c := Sign(key, Anchor{Seq: 42, Hash: hash}, time.Date(2026, 3, 1, 17, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	wantMsg := "berth-audit-anchor/v1\nseq=42\nhash=" + hash + "\ntime=2026-03-01T09:00:00Z\n"
	if got := string(c.Message()); got != wantMsg {
		t.Fatalf("Message =\n%q\nwant\n%q", got, wantMsg)
	}
	if c.KeyID != "06e3fd8fda29bb60" {
		t.Errorf("KeyID = %s, want 06e3fd8fda29bb60", c.KeyID)
	}
	wantSig := "538917ea998340c98cf9f7bc93786fe2f2c7d52592566aa368cdbaffe6d0cc25d5acc44458a4aa284148042ae6b9d5db7568e402b7ca4f23b197c8584bdaff09"
	if got := hex.EncodeToString(c.Signature); got != wantSig {
		t.Errorf("Signature = %s, want %s", got, wantSig)
	}
	pub := key.Public().(ed25519.PublicKey)
	if err := c.VerifySignature(pub); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	edits := map[string]func(*Checkpoint){
		"seq":  func(c *Checkpoint) { c.Seq++ },
		"hash": func(c *Checkpoint) { c.Hash = GenesisHash },
		"time": func(c *Checkpoint) { c.Time = c.Time.Add(time.Second) },
	}
	for name, edit := range edits {
		e := c
		edit(&e)
		if err := e.VerifySignature(pub); !errors.Is(err, ErrSignature) {
			t.Errorf("an edited %s: VerifySignature = %v, want ErrSignature", name, err)
		}
	}
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	if err := c.VerifySignature(other); !errors.Is(err, ErrSignature) {
		t.Errorf("another key: VerifySignature = %v, want ErrSignature", err)
	}
}

func TestKeysRoundTripThroughPEM(t *testing.T) {
	seed, _ := hex.DecodeString(rfc8032Seed)
	key := ed25519.NewKeyFromSeed(seed)
	privPEM, err := MarshalPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := MarshalPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	gotKey, err := ParsePrivateKey(privPEM)
	if err != nil || !gotKey.Equal(key) {
		t.Fatalf("ParsePrivateKey = %v, %v", gotKey, err)
	}
	gotPub, err := ParsePublicKey(pubPEM)
	if err != nil || !gotPub.Equal(key.Public()) {
		t.Fatalf("ParsePublicKey = %v, %v", gotPub, err)
	}
	if _, err := ParsePrivateKey(pubPEM); err == nil {
		t.Error("a public key parsed as a private key")
	}
}
