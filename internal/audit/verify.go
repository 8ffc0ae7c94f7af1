package audit

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"berth.dev/berth/internal/resource"
)

// Report is the outcome of Verify.
type Report struct {
	// Checked counts the records verified.
	Checked int64
	// From and To are the first and last sequence numbers expected.
	From, To int64
	// HeadHash is the hash of the last record: sign it with `berth audit
	// anchor` to anchor the trail outside the database.
	HeadHash string
	// Anchored counts the anchors found in the chain with their hash;
	// Pruned counts those older than the chain's base, which pruning
	// removed and which cannot be checked any more.
	Anchored, Pruned int
	// Broken is the first record found altered, deleted or reordered; nil
	// when the chain is intact.
	Broken *Break
}

// OK reports whether the chain verified.
func (r Report) OK() bool { return r.Broken == nil }

// Break names the first bad record.
type Break struct {
	Seq int64 // the sequence number of the record
	// Problem is "altered", "deleted", "reordered", "inserted" or
	// "rewritten" (the chain verifies but differs from an anchor).
	Problem string
	Detail  string
}

func (b *Break) String() string {
	return fmt.Sprintf("record %d %s: %s", b.Seq, b.Problem, b.Detail)
}

// MaxAnchors bounds the anchors one verification checks.
const MaxAnchors = 10000

// Verify recomputes the chain from its base to its head and reports the
// first record that was altered (its hash does not match its contents),
// deleted (its sequence number is missing, or the base was moved without
// an audit.prune record in the chain naming it) or reordered (it does not
// follow the record before it). It reads in batches; run it in a
// read-only transaction for a consistent snapshot.
func (s *Service) Verify(ctx context.Context, st Reader) (Report, error) {
	return s.VerifyAnchored(ctx, st, nil)
}

// VerifyAnchored is Verify that also proves the chain holds every anchor
// (a record's sequence number and hash recorded outside the database
// earlier): a chain rewritten since, even one recomputed from the start,
// no longer holds them. Anchors older than the base were pruned and are
// only counted, but the newest anchor must be at or after the base. It
// does not keep anchors.
func (s *Service) VerifyAnchored(ctx context.Context, st Reader, anchors []Anchor) (Report, error) {
	want, newest, err := anchorIndex(anchors)
	if err != nil {
		return Report{}, err
	}
	chain, err := st.AuditChain(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("read audit chain: %w", err)
	}
	w := walk{chain: chain, anchors: want, rep: Report{From: chain.BaseSeq + 1, To: chain.HeadSeq}}
	w.checkBase(newest)
	if w.rep.Broken != nil {
		return w.rep, nil
	}
	prev, next := chain.BaseHash, chain.BaseSeq+1
	batches, stop := readAhead(ctx, st, chain.BaseSeq)
	defer stop()
	for b := range batches {
		if b.err != nil {
			return Report{}, fmt.Errorf("read audit records after %d: %w", next-1, b.err)
		}
		hashes := hashAll(b.recs)
		for i, r := range b.recs {
			if w.rep.Broken = w.record(r, hashes[i], next, prev); w.rep.Broken != nil {
				break
			}
			w.rep.Checked++
			prev, next = r.Hash, r.Seq+1
		}
		if w.rep.Broken != nil {
			break
		}
	}
	w.rep.HeadHash = prev
	if w.rep.Broken == nil {
		w.rep.Broken = checkHead(chain, next-1, prev)
	}
	if w.rep.Broken == nil {
		w.rep.Broken = w.end(newest)
	}
	return w.rep, nil
}

// anchorIndex validates anchors and indexes them by sequence number; it
// also returns the newest.
func anchorIndex(anchors []Anchor) (map[int64]string, Anchor, error) {
	var errs resource.Errors
	if len(anchors) > MaxAnchors {
		errs.Add("anchors", "at most %d anchors, got %d", MaxAnchors, len(anchors))
		return nil, Anchor{}, errs.Err()
	}
	idx := make(map[int64]string, len(anchors))
	var newest Anchor
	for i, a := range anchors {
		path := "anchors[" + strconv.Itoa(i) + "]"
		if a.Seq < 1 {
			errs.Add(path+".seq", "must be at least 1")
		}
		if !hashPattern.MatchString(a.Hash) {
			errs.Add(path+".hash", "must be 64 lowercase hex digits")
		}
		if h, ok := idx[a.Seq]; ok && h != a.Hash {
			errs.Add(path+".hash", "differs from another anchor of record %d: the anchors contradict each other", a.Seq)
		}
		idx[a.Seq] = a.Hash
		if a.Seq > newest.Seq {
			newest = a
		}
	}
	return idx, newest, errs.Err()
}

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// walk is the state of one verification.
type walk struct {
	chain   Chain
	anchors map[int64]string
	rep     Report
	baseOK  bool // an audit.prune record in the chain names the base
}

// checkBase checks the base against the genesis and the anchors at or
// before it.
func (w *walk) checkBase(newest Anchor) {
	c := w.chain
	if c.BaseSeq == 0 && c.BaseHash != GenesisHash {
		w.rep.Broken = &Break{Seq: 1, Problem: "altered", Detail: "the chain's base is not the genesis hash although nothing was pruned"}
		return
	}
	w.baseOK = c.BaseSeq == 0
	for seq, hash := range w.anchors {
		switch {
		case seq < c.BaseSeq:
			w.rep.Pruned++
		case seq == c.BaseSeq && hash != c.BaseHash:
			w.rep.Broken = &Break{Seq: seq, Problem: "rewritten", Detail: "the chain's base differs from its anchor: the trail was rewritten since the anchor"}
			return
		case seq == c.BaseSeq:
			w.rep.Anchored++
		}
	}
	if newest.Seq != 0 && newest.Seq < c.BaseSeq {
		w.rep.Broken = &Break{Seq: c.BaseSeq, Problem: "deleted", Detail: fmt.Sprintf(
			"every anchor predates the chain's base (record %d, newest anchor %d): the records anchored are gone; anchor more often than the retention", c.BaseSeq, newest.Seq)}
	}
}

// record checks r, whose contents hash to hash, expected as record next
// after a record hashed prev.
func (w *walk) record(r Record, hash string, next int64, prev string) *Break {
	if b := check(r, hash, next, prev); b != nil {
		return b
	}
	if hash, ok := w.anchors[r.Seq]; ok {
		if hash != r.Hash {
			return &Break{Seq: r.Seq, Problem: "rewritten",
				Detail: "its hash differs from its anchor: the trail was rewritten at or before this record since the anchor"}
		}
		w.rep.Anchored++
	}
	if through, ok := PrunedThrough(r); ok && through == (Anchor{Seq: w.chain.BaseSeq, Hash: w.chain.BaseHash}) {
		w.baseOK = true
	}
	return nil
}

// end checks what only the whole walk shows: the base was vouched for,
// and no anchor lies past the head.
func (w *walk) end(newest Anchor) *Break {
	c := w.chain
	if !w.baseOK {
		return &Break{Seq: c.BaseSeq, Problem: "deleted", Detail: fmt.Sprintf(
			"the chain starts after record %d but no audit.prune record in it names that record and its hash: records up to %d were deleted outside Berth", c.BaseSeq, c.BaseSeq)}
	}
	if newest.Seq > c.HeadSeq {
		past := slices.Sorted(func(yield func(int64) bool) {
			for seq := range w.anchors {
				if seq > c.HeadSeq && !yield(seq) {
					return
				}
			}
		})
		return &Break{Seq: past[0], Problem: "deleted", Detail: fmt.Sprintf(
			"anchored record %d is past the head (record %d): records were deleted since the anchor", past[0], c.HeadSeq)}
	}
	return nil
}

// pruneMark is how an audit.prune record's summary names the new base.
var pruneMark = regexp.MustCompile(`\(through seq ([0-9]+), hash ([0-9a-f]{64})\)$`)

func pruneSummary(n int64, cutoff string, through Anchor) string {
	return fmt.Sprintf("pruned %d records older than %s (through seq %d, hash %s)", n, cutoff, through.Seq, through.Hash)
}

// PrunedThrough returns the base an audit.prune record moved the chain
// to: the last record pruned and its hash.
func PrunedThrough(r Record) (Anchor, bool) {
	if r.Action != "audit.prune" {
		return Anchor{}, false
	}
	m := pruneMark.FindStringSubmatch(r.Summary)
	if m == nil {
		return Anchor{}, false
	}
	seq, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return Anchor{}, false
	}
	return Anchor{Seq: seq, Hash: m[2]}, true
}

// check checks r, whose contents hash to hash (HashOf(r.PrevHash, r)),
// expected as record want after a record hashed prev.
func check(r Record, hash string, want int64, prev string) *Break {
	switch {
	case r.Seq > want:
		return &Break{Seq: want, Problem: "deleted", Detail: fmt.Sprintf("record %d is missing; the next one is %d", want, r.Seq)}
	case r.Seq < want:
		return &Break{Seq: r.Seq, Problem: "reordered", Detail: fmt.Sprintf("record %d appears where %d was expected", r.Seq, want)}
	case r.PrevHash != prev:
		return &Break{Seq: r.Seq, Problem: "reordered",
			Detail: "it does not follow the record before it (its previous hash differs): a record before it was deleted or records were moved"}
	case hash != r.Hash: // r.PrevHash is prev here

		return &Break{Seq: r.Seq, Problem: "altered", Detail: "its contents do not match its hash"}
	}
	return nil
}

// batchOf is one batch read ahead.
type batchOf struct {
	recs []Record
	err  error
}

// readAhead reads the records after `after` in batches on a goroutine of
// its own, one batch ahead of the caller, so reading the database and
// hashing overlap. stop ends the reading and waits for it: the
// transaction st is used by one goroutine at a time, and by none once
// stop returns.
func readAhead(ctx context.Context, st Reader, after int64) (batches <-chan batchOf, stop func()) {
	out := make(chan batchOf, 1)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			recs, err := st.ListAudit(ctx, Query{After: after, Limit: batch})
			select {
			case out <- batchOf{recs, err}:
			case <-quit:
				return
			}
			if err != nil || len(recs) < batch {
				return
			}
			after = recs[len(recs)-1].Seq
		}
	}()
	return out, func() { close(quit); <-done }
}

// hashAll returns HashOf(r.PrevHash, r) of every record, hashing slices of
// recs in parallel: each hash depends on its record alone.
func hashAll(recs []Record) []string {
	out := make([]string, len(recs))
	workers := min(runtime.GOMAXPROCS(0), max(len(recs)/256, 1))
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for i := k; i < len(recs); i += workers {
				out[i] = HashOf(recs[i].PrevHash, recs[i])
			}
		})
	}
	wg.Wait()
	return out
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
