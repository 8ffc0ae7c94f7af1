package apitypes

import "berth.dev/berth/internal/audit"

// VerifyReport is the result of verifying the audit chain.
type VerifyReport struct {
	OK       bool   `json:"ok"`
	Checked  int64  `json:"checked"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	HeadHash string `json:"headHash"`
	// Anchored counts the anchors found in the chain with their hash;
	// Pruned those older than the chain's base, which cannot be checked.
	Anchored int `json:"anchored"`
	Pruned   int `json:"pruned"`
	// Broken names the first record altered, deleted or reordered.
	Broken *BrokenRecord `json:"broken,omitempty"`
}

// BrokenRecord is the first bad record of the chain.
type BrokenRecord struct {
	Seq     int64  `json:"seq"`
	Problem string `json:"problem"`
	Detail  string `json:"detail"`
}

// VerifyRequest optionally lists anchors, records seen earlier (by
// `berth audit anchor`) that the chain must still hold with their hash.
type VerifyRequest struct {
	Anchors []audit.Anchor `json:"anchors,omitempty"`
}
