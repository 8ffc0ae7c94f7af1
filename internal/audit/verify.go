package audit

import (
	"context"
	"fmt"
)

// Report is the outcome of Verify.
type Report struct {
	// Checked counts the records verified.
	Checked int64
	// From and To are the first and last sequence numbers expected.
	From, To int64
	// HeadHash is the hash of the last record: publish it to anchor the
	// trail outside the database.
	HeadHash string
	// Broken is the first record found altered, deleted or reordered; nil
	// when the chain is intact.
	Broken *Break
}

// OK reports whether the chain verified.
func (r Report) OK() bool { return r.Broken == nil }

// Break names the first bad record.
type Break struct {
	Seq     int64  // the sequence number of the record
	Problem string // "altered", "deleted", "reordered" or "inserted"
	Detail  string
}

func (b *Break) String() string {
	return fmt.Sprintf("record %d %s: %s", b.Seq, b.Problem, b.Detail)
}

// Verify recomputes the chain from its base to its head and reports the
// first record that was altered (its hash does not match its contents),
// deleted (its sequence number is missing) or reordered (it does not
// follow the record before it). It reads in batches; run it in a read-only
// transaction for a consistent snapshot.
func (s *Service) Verify(ctx context.Context, st Reader) (Report, error) {
	chain, err := st.AuditChain(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("read audit chain: %w", err)
	}
	rep := Report{From: chain.BaseSeq + 1, To: chain.HeadSeq}
	prev, want := chain.BaseHash, chain.BaseSeq+1
	after := chain.BaseSeq
	for rep.Broken == nil {
		recs, err := st.ListAudit(ctx, Query{After: after, Limit: batch})
		if err != nil {
			return Report{}, fmt.Errorf("read audit records after %d: %w", after, err)
		}
		for _, r := range recs {
			if rep.Broken = check(r, want, prev); rep.Broken != nil {
				break
			}
			rep.Checked++
			prev, want = r.Hash, r.Seq+1
		}
		if len(recs) < batch {
			break
		}
		after = recs[len(recs)-1].Seq
	}
	rep.HeadHash = prev
	if rep.Broken == nil {
		rep.Broken = checkHead(chain, want-1, prev)
	}
	return rep, nil
}

func check(r Record, want int64, prev string) *Break {
	switch {
	case r.Seq > want:
		return &Break{Seq: want, Problem: "deleted", Detail: fmt.Sprintf("record %d is missing; the next one is %d", want, r.Seq)}
	case r.Seq < want:
		return &Break{Seq: r.Seq, Problem: "reordered", Detail: fmt.Sprintf("record %d appears where %d was expected", r.Seq, want)}
	case r.PrevHash != prev:
		return &Break{Seq: r.Seq, Problem: "reordered",
			Detail: "it does not follow the record before it (its previous hash differs): a record before it was deleted or records were moved"}
	case HashOf(prev, r) != r.Hash:
		return &Break{Seq: r.Seq, Problem: "altered", Detail: "its contents do not match its hash"}
	}
	return nil
}

// checkHead compares the last record verified with the chain's head.
func checkHead(chain Chain, last int64, hash string) *Break {
	switch {
	case last < chain.HeadSeq:
		return &Break{Seq: last + 1, Problem: "deleted",
			Detail: fmt.Sprintf("the chain ends at record %d but its head is record %d", last, chain.HeadSeq)}
	case last > chain.HeadSeq:
		return &Break{Seq: chain.HeadSeq + 1, Problem: "inserted",
			Detail: fmt.Sprintf("records after the head %d were added outside Berth", chain.HeadSeq)}
	case hash != chain.HeadHash:
		return &Break{Seq: last, Problem: "altered", Detail: "the last record's hash differs from the chain head"}
	}
	return nil
}
