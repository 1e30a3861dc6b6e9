// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// editor applies a guest's staged edit list to the batch, all or nothing:
// one pass validates every operation, and only then a second pass applies
// them, so a malformed list leaves the batch exactly as it was.
type editor struct {
	t       *tables
	guard   *guard // the call's deadline; nil in tests of the editor alone
	dropped [numTables][]bool
	drops   bool
	strs    interner
	// attrOps counts, per item, the attribute edits seen while validating;
	// work is the attribute comparisons applying them will cost. adds
	// counts those that may add a key (SetAttr, a rename's new key), for
	// which commit reserves room.
	attrOps [numTables][]int32
	adds    [numTables][]int32
	work    int
	// copies and copyBytes are the edits of the list validated and their
	// bytes, a record's copies counted one by one, and dropping whether it
	// drops anything: what applying them costs beyond the comparisons
	// work counts.
	copies, copyBytes int
	// fresh is the bytes of values applying allocates, each reckoned at
	// freshNsPerByte: a Bytes value once for every item it is set on, a
	// Str value once for a record (it is interned) and for each plain edit.
	fresh    int
	dropping bool
	// released is what the list's drops and replaced values hand back to
	// pdata's pools, piece by piece, when pdata.useProtoPooling is on
	// (weigh's pieces): one dropped span of 2 million events took 92-190
	// ms to apply under a 10 ms timeout, where the estimate counted one
	// item (attack round 25).
	released int
	// costs sums, per item, the compareCost of the keys of its attribute
	// edits: validate adds what scanning the item's own attributes costs
	// once per item, from costs, instead of reading each item's attributes
	// at every edit. reserved is the attribute slots commit has reserved.
	costs    [numTables][]int32
	reserved int
	// whereAt holds the offsets in the staged list of the records
	// edit_where staged: one operation and the selection it applies to,
	// standing for one copy of the operation per selected item (see
	// stageWhere). Only the host writes this list, so a guest's own edit
	// bytes can never be read as a record.
	whereAt []int
	// The containers weighContainers weighed in this list.
	weighedScopes, weighedRes, weighedMets []bool
}

// MaxApplyWork bounds the attribute-key comparisons one edit list may cost
// to apply. pdata finds an attribute by scanning its item's attributes, so
// k edits on one item with n attributes cost about k*(n+k): without a
// bound, a few hundred thousand edits on one span would take minutes.
const MaxApplyWork = 32 << 20

// applyNsPerUnit is the most one unit of apply work (one key comparison
// of pdata's scans) is taken to cost, so that validate refuses a list the
// call's time left cannot apply: applying is not interrupted, and a list
// accepted under MaxApplyWork alone took 100-180 ms to apply after a
// guest had spent its time, ten times a 10 ms timeout. An attack round
// measured up to 5.4 ns a unit on the worst lists it found (a key renamed
// back and forth among 2,000 on one span); twice that leaves room for a
// slower machine.
const applyNsPerUnit = 10

// perEditWork and bytesPerWork charge, in the same units, what applying
// costs beyond the comparisons: every edit's decoding and map call, and
// the bytes of the list. A reviewer measured 700,000 SetAttr of one key
// on 1,000 spans at about 57 ns an edit, 2.5 million drops at about 10 ns
// a drop, and 16,000 values of 1,000 bytes at about 0.6 ns a byte: 80 ns
// an edit and 1.25 ns a byte are again about twice those. The bytes of
// values applying allocates (editor.fresh) are charged besides at
// freshNsPerByte: a Bytes value is copied for every item it is set on,
// and in memory the system had taken back that cost 2.5-3.7 ns a byte (a
// 60 KiB value on 3,000 records, reckoned at 231 ms, took 780-1,013 ms,
// and the batch succeeded past its 500 ms timeout; attack round 26).
const perEditWork, bytesPerWork = 8, 8

// dropPassWork charges removeDropped's pass over the batch, per item of
// it: a reviewer measured one drop among a million metrics, each with a
// point, at 35 ms to apply, about 17 ns an item.
const dropPassWork = 4

// weighRelease adds to released what weigh sums in f, stopping the
// validation with errApplyDeadline as soon as the time left cannot hold
// it, rather than at the deadline: weighing takes about as long as what
// it weighs.
func (e *editor) weighRelease(f func()) {
	e.t.startWeighing(e.released, e.workLeft()/releaseWork)
	f()
	e.released = e.t.weight
}

// releaseWork charges, per piece, what applying hands back to pdata's
// pools when pdata.useProtoPooling is on: dropping a span of 2 million
// events, each with an attribute, took 23-37 ns a piece; 60 ns is about
// twice that.
const releaseWork = 6

// errApplyDeadline: the list's cost, at applyNsPerUnit, passes the time
// the call has left. The call times out; nothing is applied.
var errApplyDeadline = errors.New("applying its edits would not finish in the time left")

// maxExactKeys bounds the distinct (item, key) pairs exactWork counts.
const maxExactKeys = 1 << 20

// apply validates then applies ops. Drops take effect after every other
// edit so that item indices stay those the guest saw.
func (e *editor) apply(ops []byte) error {
	if err := e.validate(ops); err != nil {
		return err
	}
	e.commit(ops)
	return nil
}

// validate checks every operation and what applying them will cost,
// changing nothing.
func (e *editor) validate(ops []byte) (err error) {
	e.t.validating = true
	defer func() {
		e.t.validating = false
		if r := recover(); r != nil {
			switch r {
			case errBuildDeadline:
				err = errValidateDeadline
			case errBuildTooLong, errApplyDeadline: // from reckon, weigh
				err = r.(error)
			default:
				panic(r)
			}
		}
	}()
	if err := e.walk(ops, false); err != nil {
		return err
	}
	if err := e.chargeOwnAttrs(); err != nil {
		return err
	}
	linear := perEditWork*e.copies + e.copyBytes/bytesPerWork + e.fresh*freshNsPerByte/applyNsPerUnit
	if e.dropping {
		// removeDropped makes a pass over the whole batch, whatever the
		// number of drops.
		linear += dropPassWork * e.t.dropPassItems()
	}
	linear += releaseWork * e.released
	if e.work <= MaxApplyWork && e.work+linear <= e.workLeft() {
		return nil
	}
	// The quick estimate counts every edit as a new attribute. Count
	// distinct keys per item instead before refusing: setting the same key
	// many times is cheap. A list past MaxApplyWork is the guest's fault
	// whatever the time; one within it that the time left cannot hold
	// times out. The recount takes time of its own, so the time left is
	// read after it. The estimate is never under the recount, which gives
	// up past maxExactKeys: a list the estimate puts within MaxApplyWork
	// stays there.
	w := min(e.exactWork(ops), e.work)
	if w > MaxApplyWork {
		return fmt.Errorf("applying the edit list would cost about %d attribute comparisons, more than %d", w, MaxApplyWork)
	}
	if w+linear > e.workLeft() {
		return errApplyDeadline
	}
	return nil
}

// workLeft is the apply work the call's time left holds at
// applyNsPerUnit; without a deadline, any.
func (e *editor) workLeft() int {
	if e.guard == nil {
		return math.MaxInt
	}
	d := e.guard.deadline.Load()
	if d == 0 {
		return math.MaxInt
	}
	return int(max(d-now(), 0) / applyNsPerUnit)
}

// exactWork bounds the comparisons applying ops costs: each attribute
// operation scans its item's attributes, which number at most what the
// item had plus the distinct keys edited on it so far. Keys are counted
// by a seeded 64-bit hash of item and key, at most maxExactKeys of them
// (about 20 bytes each): with the keys themselves in the map, 1.5 million
// took 165 MiB. Past the bound it gives up, returning MaxApplyWork+1, and
// validate falls back on the quick estimate.
func (e *editor) exactWork(ops []byte) int {
	seen := map[uint64]struct{}{}
	var grown [numTables][]int32
	var h maphash.Hash
	h.SetSeed(exactWorkSeed)
	work, n := 0, 0
	one := func(d abi.Decoder, idx int32) bool {
		if n%1024 == 1023 && e.guard != nil && e.guard.expired() {
			work = MaxApplyWork + 1 // out of time: refuse
			return false
		}
		n++
		op, table := d.U8(), int32(d.U8())
		d.U32()
		var keys [][]byte
		switch op {
		case abi.OpSetAttr:
			keys = [][]byte{d.Raw()}
		case abi.OpDeleteAttr:
			keys = [][]byte{d.Raw()}
		case abi.OpRenameAttr:
			keys = [][]byte{d.Raw(), d.Raw()}
		}
		if len(keys) > 0 && grown[table] == nil {
			e.t.reckonBytes(4 * int(e.t.count(table)))
			grown[table] = make([]int32, e.t.count(table))
		}
		for _, k := range keys {
			h.Reset()
			h.Write([]byte{byte(table), byte(idx), byte(idx >> 8), byte(idx >> 16), byte(idx >> 24)})
			h.Write(k)
			if key := h.Sum64(); !hasKey(seen, key) {
				if len(seen) == maxExactKeys {
					work = MaxApplyWork + 1
					return false
				}
				seen[key] = struct{}{}
				grown[table][idx]++
			}
			// pdata's scans, and dropLaterDuplicates's.
			work += 3 * (e.t.attrs(table, idx).Len() + int(grown[table][idx])) * compareCost(len(k))
		}
		return work <= MaxApplyWork // past it, enough to refuse
	}
	e.each(ops, func(d abi.Decoder) bool {
		start := d
		d.U8()
		d.U8()
		return one(start, int32(d.U32()))
	}, func(op, sel []byte, count int32) bool {
		for i := range selectedItems(sel, count) {
			if !one(abi.NewDecoder(op), i) {
				return false
			}
		}
		return true
	})
	return work
}

// each calls edit with a decoder at every edit of the validated list ops
// and record for every record edit_where staged, in the order staged,
// until either returns false. edit's decoder is a copy: it need not read
// the whole edit.
func (e *editor) each(ops []byte, edit func(d abi.Decoder) bool, record func(op, sel []byte, count int32) bool) {
	for pos, next := 0, 0; pos < len(ops); next++ {
		end := len(ops)
		if next < len(e.whereAt) {
			end = e.whereAt[next]
		}
		for d := abi.NewDecoder(ops[pos:end]); !d.Done(); e.skip(&d) {
			if !edit(d) {
				return
			}
		}
		if end == len(ops) {
			return
		}
		r := abi.NewDecoder(ops[end:])
		op, sel := r.Raw(), r.Raw()
		if !record(op, sel, e.t.count(int32(op[1]))) {
			return
		}
		pos = end + r.Offset()
	}
}

// skip reads past one edit of a validated list.
func (e *editor) skip(d *abi.Decoder) {
	op := d.U8()
	d.U8()
	d.U32()
	switch op {
	case abi.OpSetAttr:
		d.Raw()
		d.Value()
	case abi.OpDeleteAttr:
		d.Raw()
	case abi.OpRenameAttr:
		d.Raw()
		d.Raw()
	case abi.OpSetField:
		d.U8()
		d.Value()
	}
}

func hasKey(m map[uint64]struct{}, k uint64) bool {
	_, ok := m[k]
	return ok
}

// exactWorkSeed keeps exactWork's hashes unpredictable to a guest, which
// could otherwise make keys collide to be counted as fewer.
var exactWorkSeed = maphash.MakeSeed()

// commit applies a list validate accepted. The list is decoded a second
// time rather than kept decoded: keeping it costs memory by the edit (72
// bytes each), which on a large batch cost more than decoding.
func (e *editor) commit(ops []byte) {
	_ = e.walk(ops, true) // validated: cannot fail
	if e.drops {
		e.removeDropped()
	}
}

// keyValueBytes is what an attribute takes in pdata's list (40 bytes in
// pdata 1.x, rounded up); growChargedFrom is the length from which an
// edit that adds a key is charged the list's copy.
const keyValueBytes, growChargedFrom = 48, 1024

// The reservation counts edits that may add a key, not distinct keys: a
// million SetAttr of one key on one span would reserve a million slots
// (32 MiB) for one attribute. Past maxReservedKeys an item, or
// maxReservedTotal a call, pdata's own growth takes over, which grows
// only for keys really added: reserved room is batch memory no budget
// counts, and a list of 16 MiB of renames of absent keys made the batch
// 96 MiB larger before these bounds.
const maxReservedKeys, maxReservedTotal = 64, 1 << 18

// editable is the attribute map of item i for commit to edit. On the
// item's first edit its attributes grow once to hold what its edits may
// add (validate counted them), rather than once per added key as pdata's
// appends would. Growing them here, not in a pass of its own before the
// edits, reads each item's attributes once while they are in cache.
func (e *editor) editable(table, i int32) pcommon.Map {
	m := e.t.attrs(table, i)
	if adds := e.adds[table]; int(i) < len(adds) && adds[i] > 0 {
		if e.reserved < maxReservedTotal {
			r := min(int(adds[i]), maxReservedKeys)
			e.reserved += r
			m.EnsureCapacity(m.Len() + r)
		}
		adds[i] = 0
	}
	return m
}

// chargeOwnAttrs adds to the work of applying the list what the edits'
// scans of each item's own attributes cost: charge counted the keys each
// item's edits compare, costs, and the attributes an item already has are
// read here once, not at every edit.
func (e *editor) chargeOwnAttrs() error {
	n := 0
	for table, costs := range e.costs {
		for i, c := range costs {
			if c == 0 {
				continue
			}
			if n%1024 == 1023 && e.guard != nil && e.guard.expired() {
				return errValidateDeadline
			}
			n++
			// Three scans an edit, as exactWork counts them.
			attrs := e.t.attrs(int32(table), int32(i))
			e.work += 3 * attrs.Len() * int(c)
			if adds := e.adds[table]; attrs.Len() >= growChargedFrom && i < len(adds) && adds[i] > 0 {
				// A key added to a full list copies the whole list into
				// a new one (editable, or pdata's own growth past the
				// reservation, twice at most by doubling), in one step:
				// one SetAttr on a record of 3.3 million attributes took
				// 450-515 ms under a 150 ms timeout, and succeeded (attack
				// round 27a). Small lists are in perEditWork.
				e.fresh += 2 * keyValueBytes * (attrs.Len() + int(adds[i]))
			}
			if protoPooling() && e.work <= e.workLeft() {
				// An edit may replace or remove any of them. Not weighed
				// once the comparisons alone are past the time left: the
				// walk would only reach the deadline (10 million scalar
				// attributes took 21-22 ms under 5 ms).
				e.weighRelease(func() {
					for _, v := range attrs.All() {
						e.t.visit()
						e.t.valueWeight(v)
					}
				})
			}
		}
	}
	return nil
}

func (e *editor) reset() {
	for i := range e.dropped {
		e.dropped[i] = e.dropped[i][:0]
		e.attrOps[i] = e.attrOps[i][:0]
		e.adds[i] = e.adds[i][:0]
		e.costs[i] = e.costs[i][:0]
	}
	e.drops = false
	e.work, e.reserved = 0, 0
	e.copies, e.copyBytes, e.fresh, e.dropping, e.released = 0, 0, 0, false, 0
	// One huge batch's marks are not kept.
	e.weighedScopes = keptUpTo(e.weighedScopes, maxKeptGrouping)
	e.weighedRes = keptUpTo(e.weighedRes, maxKeptGrouping)
	e.weighedMets = keptUpTo(e.weighedMets, maxKeptGrouping)
	e.whereAt = e.whereAt[:0]
}

// charge accounts one attribute edit on item i while validating: a quick
// over-estimate, as if every edit added a key. adds says whether it may.
// The scan of the item's own attributes is charged by chargeOwnAttrs,
// once per item.
func (e *editor) charge(table, i int32, keyLen int, adds bool) error {
	e.sized(table, e.t.count(table))
	e.chargeKey(e.attrOps[table], e.costs[table], i, compareCost(keyLen))
	if adds {
		e.adds[table][i]++
	}
	return nil
}

// chargeKey charges one key edit of cost on item i, given its table's
// counters: charge's sums, and chargeRecord's for each of its items.
func (e *editor) chargeKey(ops, costs []int32, i int32, cost int) {
	// Three scans, as exactWork counts them, over the keys this item's
	// earlier edits and this one may have added: so that the estimate is
	// never under exactWork's count, which only lowers it.
	e.work += 3 * (int(ops[i]) + 1) * cost
	// Saturating, though out of reach: an item's costs reach 2^31 only
	// after about 32 GiB of keys edited on it, past any staged edits'
	// limit. Long before, the estimate is past MaxApplyWork, and
	// exactWork, which recounts without these sums, decides.
	costs[i] = int32(min(int(costs[i])+cost, math.MaxInt32))
	ops[i]++
}

// chargeRecord is charge for a SetAttr record edit_where staged, valid
// as a whole, on every item sel selects: the same sums, in one loop with
// the table's counters fetched once. On records shaped like knative-hops'
// (BenchmarkValidateRecords) it takes about a third of the time charge
// took item by item (BENCHMARKS.md, 2026-12-06, morning). It returns how
// many copies the record stands for, and checks the deadline where walk
// would check it for the copies.
func (e *editor) chargeRecord(table int32, sel []byte, count int32, keyLen, first int) (int, error) {
	if count <= 0 {
		return 0, nil // no item to select, as selectedItems would find
	}
	e.sized(table, count)
	ops, adds, costs := e.attrOps[table], e.adds[table], e.costs[table]
	cost := compareCost(keyLen)
	guarded := e.guard != nil
	k := 0
	for i := range selectedItems(sel, count) {
		if guarded && (first+k)%1024 == 1023 && e.guard.expired() {
			return 0, errValidateDeadline
		}
		e.chargeKey(ops, costs, i, cost)
		adds[i]++
		k++
	}
	return k, nil
}

// sized makes the per-item counters of table hold count items, zeroing
// them when their length differs. A table's count is fixed for a call,
// so they are zeroed on its first edit only and then add up.
func (e *editor) sized(table, count int32) {
	if n := int(count); len(e.attrOps[table]) != n {
		// Three counters an item of the table, allocated and zeroed at
		// once: 4 million records took 130-395 ms past a 400 ms timeout
		// for one edit (attack round 27a).
		e.t.reckonBytes(12 * n)
		e.attrOps[table] = append(e.attrOps[table][:0], make([]int32, n)...)
		e.adds[table] = append(e.adds[table][:0], make([]int32, n)...)
		e.costs[table] = append(e.costs[table][:0], make([]int32, n)...)
	}
}

// compareCost is what comparing a key of n bytes with another costs, in
// units of one short comparison: a long key costs by its length.
func compareCost(n int) int { return 1 + n/16 }

var errValidateDeadline = errors.New("the call's deadline passed while its edits were validated")

var errEmptyEdit = errors.New("edit list: empty operation")

func (e *editor) walk(ops []byte, apply bool) error {
	n := 0 // edits so far, a record's copies counted one by one
	// shift is what the records so far stand for beyond their bytes, so
	// that an error names the byte it would in the list of copies.
	shift := 0
	for pos, next := 0, 0; pos < len(ops); next++ {
		// The guest's edits up to the next record, read on their own so
		// that an edit cut short cannot take the record's bytes.
		end := len(ops)
		if next < len(e.whereAt) {
			end = e.whereAt[next]
		}
		d := abi.NewDecoder(ops[pos:end])
		for ; !d.Done(); n++ {
			if !apply && n%1024 == 1023 && e.guard != nil && e.guard.expired() {
				// Validating counts against the batch's time.
				return errValidateDeadline
			}
			at := shift + pos + d.Offset()
			op, table, idx := d.U8(), int32(d.U8()), d.U32()
			if d.Err() != nil {
				return fmt.Errorf("edit %d at byte %d: truncated header", n, at)
			}
			count := e.t.count(table)
			if count < 0 {
				return fmt.Errorf("edit %d: table %d does not exist for this signal", n, table)
			}
			if idx >= uint32(count) {
				return fmt.Errorf("edit %d: index %d out of range (table %d has %d items)", n, idx, table, count)
			}
			if err := e.one(&d, op, table, int32(idx), count, apply); err != nil {
				return fmt.Errorf("edit %d (op %d, table %d, index %d): %w", n, op, table, idx, err)
			}
		}
		if end == len(ops) {
			break
		}
		r := abi.NewDecoder(ops[end:])
		op, sel := r.Raw(), r.Raw() // written by the host: well formed
		k, err := e.walkRecord(op, sel, n, apply)
		if err != nil {
			return err
		}
		n += k
		shift += k*len(op) - r.Offset()
		pos = end + r.Offset()
	}
	if !apply {
		e.copies, e.copyBytes = n, len(ops)+shift
	}
	return nil
}

// walkRecord validates or applies a record edit_where staged: op, whose
// index is ignored, on every item sel selects, in order, exactly as the
// copies the guest could have sent one by one; first is the number the
// first copy would have had. It returns how many copies the record stands
// for. A SetAttr, what filters stage most, is decoded once, and its key
// and value interned once, for all its items.
func (e *editor) walkRecord(op, sel []byte, first int, apply bool) (int, error) {
	d := abi.NewDecoder(op)
	code, table := d.U8(), int32(d.U8())
	d.U32()
	count := e.t.count(table) // ≥ 0: edit_where staged it against the table
	k := 0
	fail := func(i int32, err error) (int, error) {
		return 0, fmt.Errorf("edit %d (op %d, table %d, index %d): %w", first+k, code, table, i, err)
	}
	if code == abi.OpSetAttr {
		key, v := d.Raw(), d.Value()
		err := e.attrTable(table, d.Err())
		if err == nil && !settable(v.Tag) {
			err = fmt.Errorf("attribute value tag %d cannot be set", v.Tag)
		}
		if !apply && err == nil {
			k, err := e.chargeRecord(table, sel, count, len(key), first)
			switch v.Tag {
			case abi.TagBytes:
				e.fresh += k * len(v.Raw)
			case abi.TagStr:
				e.fresh += len(v.Raw)
			}
			return k, err
		}
		var name, str string
		if apply {
			name, str = e.strs.get(key), e.str(v)
		}
		for i := range selectedItems(sel, count) {
			deadline := !apply && (first+k)%1024 == 1023 && e.guard != nil && e.guard.expired()
			switch {
			case deadline:
				return 0, errValidateDeadline // first, as for the copies
			case err != nil:
				return fail(i, err)
			case !apply:
				e.charge(table, i, len(key), true)
			default:
				e.put(e.editable(table, i), name, v, str)
			}
			k++
		}
		return k, nil
	}
	for i := range selectedItems(sel, count) {
		if !apply && (first+k)%1024 == 1023 && e.guard != nil && e.guard.expired() {
			return 0, errValidateDeadline
		}
		operands := d // a copy, at the operands
		if err := e.one(&operands, code, table, i, count, apply); err != nil {
			return fail(i, err)
		}
		k++
	}
	return k, nil
}

// one validates or applies one edit on item i, its operands read from d.
func (e *editor) one(d *abi.Decoder, op uint8, table, i, count int32, apply bool) error {
	switch op {
	case abi.OpSetAttr:
		return e.setAttr(d, table, i, apply)
	case abi.OpDeleteAttr:
		key := d.Raw()
		err := e.attrTable(table, d.Err())
		if err == nil && !apply {
			return e.charge(table, i, len(key), false)
		} else if err == nil {
			m, k := e.editable(table, i), e.strs.get(key)
			dropLaterDuplicates(m, k)
			m.Remove(k)
		}
		return err
	case abi.OpRenameAttr:
		old, new := d.Raw(), d.Raw()
		err := e.attrTable(table, d.Err())
		if err == nil && !apply {
			// A rename looks up twice and may add.
			if err = e.charge(table, i, len(old), false); err == nil {
				err = e.charge(table, i, len(new), true)
			}
		} else if err == nil {
			m, o, n := e.editable(table, i), e.strs.get(old), e.strs.get(new)
			dropLaterDuplicates(m, o)
			dropLaterDuplicates(m, n)
			e.rename(m, o, n)
		}
		return err
	case abi.OpSetField:
		field := int32(d.U8())
		v := d.Value()
		if d.Err() != nil {
			return d.Err()
		}
		if !apply {
			e.fresh += valueBytes(v)
		}
		return e.setField(table, i, field, v, apply)
	case abi.OpDrop:
		return e.drop(table, i, count, apply)
	default:
		return fmt.Errorf("unknown op %d", op)
	}
}

func (e *editor) attrTable(table int32, decodeErr error) error {
	if decodeErr != nil {
		return decodeErr
	}
	if !hasAttrs(table) {
		return errors.New("items of this table have no attributes")
	}
	return nil
}

func (e *editor) setAttr(d *abi.Decoder, table, i int32, apply bool) error {
	key := d.Raw()
	v := d.Value()
	if err := e.attrTable(table, d.Err()); err != nil {
		return err
	}
	if !settable(v.Tag) {
		return fmt.Errorf("attribute value tag %d cannot be set", v.Tag)
	}
	if !apply {
		e.fresh += valueBytes(v)
		return e.charge(table, i, len(key), true)
	}
	e.put(e.editable(table, i), e.strs.get(key), v, e.str(v))
	return nil
}

// valueBytes is what applying allocates for v: a Str's or a Bytes's
// bytes.
func valueBytes(v abi.Scalar) int {
	if v.Tag == abi.TagStr || v.Tag == abi.TagBytes {
		return len(v.Raw)
	}
	return 0
}

// str is v's string, interned, when v is a Str.
func (e *editor) str(v abi.Scalar) string {
	if v.Tag != abi.TagStr {
		return ""
	}
	return e.strs.get(v.Raw)
}

// put sets attribute k of m to v, whose string, for a Str, is str. A
// scalar goes in with pdata's Put of its type, which appends the key with
// its value in one step; PutEmpty then a Set cost a third more in
// knative-hops' commits (two wrappers and a second write per edit).
func (e *editor) put(m pcommon.Map, k string, v abi.Scalar, str string) {
	n := m.Len()
	switch v.Tag {
	case abi.TagStr:
		m.PutStr(k, str)
	case abi.TagInt:
		m.PutInt(k, int64(v.Bits))
	case abi.TagDouble:
		m.PutDouble(k, math.Float64frombits(v.Bits))
	case abi.TagBool:
		m.PutBool(k, v.Bits == 1)
	default:
		putValue(m.PutEmpty(k), v, str)
	}
	if m.Len() == n {
		// k was there, maybe more than once, and the Put set its first
		// copy. When it was not, the Put's scan has shown there is no copy
		// to drop. RemoveIf compacts in place, so the first copy stays;
		// TestEditsLeaveOneCopyOfAKey checks the value is on it.
		dropLaterDuplicates(m, k)
	}
}

// dropLaterDuplicates leaves one attribute named key on m, the first, the
// one columns and kernels show. OTLP requires keys to be unique, but a
// client may send a key twice, pdata keeps both, and its Map edits only
// the first: a filter deleting or overwriting "secret" left the second
// copy, exported as it came. An edited key therefore appears once after
// the edit.
func dropLaterDuplicates(m pcommon.Map, key string) {
	seen := 0
	for k := range m.All() {
		if k == key {
			seen++
		}
	}
	if seen < 2 {
		return
	}
	seen = 0
	m.RemoveIf(func(k string, _ pcommon.Value) bool {
		if k != key {
			return false
		}
		seen++
		return seen > 1
	})
}

// rename moves the value rather than copying it, so that renaming a large
// map or slice back and forth costs nothing per rename.
func (e *editor) rename(m pcommon.Map, old, new string) {
	if _, ok := m.Get(old); !ok || old == new {
		return
	}
	dst := m.PutEmpty(new)
	src, _ := m.Get(old) // again: PutEmpty may have moved the entries
	src.MoveTo(dst)
	m.Remove(old)
}

// settable: the scalar tags a guest may write.
func settable(tag uint8) bool { return tag >= abi.TagStr && tag <= abi.TagBytes }

// putValue sets dst to v, whose string, for a Str, is str.
func putValue(dst pcommon.Value, v abi.Scalar, str string) {
	switch v.Tag {
	case abi.TagStr:
		dst.SetStr(str)
	case abi.TagInt:
		dst.SetInt(int64(v.Bits))
	case abi.TagDouble:
		dst.SetDouble(math.Float64frombits(v.Bits))
	case abi.TagBool:
		dst.SetBool(v.Bits == 1)
	case abi.TagBytes:
		dst.SetEmptyBytes().FromRaw(v.Raw) // FromRaw copies
	}
}

func (e *editor) setField(table, i, field int32, v abi.Scalar, apply bool) error {
	want := func(tag uint8) error {
		if v.Tag != tag {
			return fmt.Errorf("field %d wants value tag %d, got %d", field, tag, v.Tag)
		}
		return nil
	}
	inRange := func(lo, hi int64) error {
		if err := want(abi.TagInt); err != nil {
			return err
		}
		if n := int64(v.Bits); n < lo || n > hi {
			return fmt.Errorf("field %d: %d is outside %d..%d", field, n, lo, hi)
		}
		return nil
	}
	str := func(set func(string)) error {
		if err := want(abi.TagStr); err != nil {
			return err
		}
		if apply {
			set(e.strs.get(v.Raw))
		}
		return nil
	}
	switch table {
	case abi.TableScope:
		s := e.t.scopes[i].scope
		switch field {
		case abi.FieldName:
			return str(s.SetName)
		case abi.FieldVersion:
			return str(s.SetVersion)
		}
	case abi.TableSpan:
		s := e.t.span(i)
		switch field {
		case abi.FieldName:
			return str(s.SetName)
		case abi.FieldTraceState:
			return str(s.TraceState().FromRaw)
		case abi.FieldStatusMessage:
			return str(s.Status().SetMessage)
		case abi.FieldKind:
			if err := inRange(abi.SpanKindUnspecified, abi.SpanKindConsumer); err != nil {
				return err
			}
			if apply {
				s.SetKind(ptrace.SpanKind(v.Bits))
			}
			return nil
		case abi.FieldStatusCode:
			if err := inRange(abi.StatusUnset, abi.StatusError); err != nil {
				return err
			}
			if apply {
				s.Status().SetCode(ptrace.StatusCode(v.Bits))
			}
			return nil
		}
	case abi.TableMetric:
		m := e.t.mets[i].m
		switch field {
		case abi.FieldName:
			return str(m.SetName)
		case abi.FieldDescription:
			return str(m.SetDescription)
		case abi.FieldUnit:
			return str(m.SetUnit)
		}
	case abi.TablePoint:
		p := e.t.point(i)
		if field != abi.FieldValue {
			break
		}
		if p.typ != pmetric.MetricTypeGauge && p.typ != pmetric.MetricTypeSum {
			return errors.New("only gauge and sum points have a settable value")
		}
		switch v.Tag {
		case abi.TagInt:
			if apply {
				p.num.SetIntValue(int64(v.Bits))
			}
		case abi.TagDouble:
			if apply {
				p.num.SetDoubleValue(math.Float64frombits(v.Bits))
			}
		default:
			return fmt.Errorf("a point value must be an int or a double, got tag %d", v.Tag)
		}
		return nil
	case abi.TableLog:
		r := e.t.records[i].rec
		switch field {
		case abi.FieldValue:
			if !settable(v.Tag) {
				return fmt.Errorf("a log body cannot be set from tag %d", v.Tag)
			}
			if apply {
				putValue(r.Body(), v, e.str(v))
			} else if protoPooling() {
				e.weighRelease(func() { e.t.valueWeight(r.Body()) })
			}
			return nil
		case abi.FieldSeverity:
			if err := inRange(0, 24); err != nil {
				return err
			}
			if apply {
				r.SetSeverityNumber(plog.SeverityNumber(v.Bits))
			}
			return nil
		case abi.FieldSeverityText:
			return str(r.SetSeverityText)
		}
	}
	return fmt.Errorf("field %d of table %d cannot be set", field, table)
}

func (e *editor) drop(table, i, count int32, apply bool) error {
	switch table {
	case abi.TableSpan, abi.TableMetric, abi.TablePoint, abi.TableLog:
	default:
		return errors.New("only spans, metrics, points and log records can be dropped")
	}
	if !apply {
		e.dropping = true
		if protoPooling() {
			// Weighed once an item, however often the list drops it. The
			// marks are apply's, which sets the same again.
			if once(&e.dropped[table], int(count), i) {
				e.weighRelease(func() {
					e.t.dropWeight(table, i)
					e.weighContainers(table, i)
				})
			}
		}
		return nil
	}
	d := e.dropped[table]
	if len(d) != int(count) {
		d = append(d[:0], make([]bool, count)...)
	}
	d[i] = true
	e.dropped[table] = d
	e.drops = true
	return nil
}

func isDropped(d []bool, i int) bool { return i < len(d) && d[i] }

// weighContainers weighs, once each in the list, the scope and resource
// of dropped item i of table, and a dropped point's metric: a drop that
// empties them has removeDropped remove them too, which under proto
// pooling hands all they hold back to the pools. A resource and a scope
// of a million attributes each, emptied by dropping their one span, took
// 168-503 ms after the guest under a 10 ms timeout, and the batch
// succeeded (review of attack round 25). Whether the drops will empty
// them is not worked out: weighing every container of a dropped item
// errs on the safe side, and containers hold little in real batches.
func (e *editor) weighContainers(table, i int32) {
	scope, res := int32(-1), int32(-1)
	switch table {
	case abi.TableSpan:
		scope, res = e.t.spans[i].scope, e.t.spans[i].res
	case abi.TableLog:
		scope, res = e.t.records[i].scope, e.t.records[i].res
	case abi.TableMetric:
		scope, res = e.t.mets[i].scope, e.t.mets[i].res
	case abi.TablePoint:
		m := e.t.points[i].metric
		scope, res = e.t.mets[m].scope, e.t.mets[m].res
		if once(&e.weighedMets, len(e.t.mets), m) {
			e.t.mapWeight(e.t.mets[m].m.Metadata())
		}
	}
	if scope >= 0 && once(&e.weighedScopes, len(e.t.scopes), scope) {
		e.t.mapWeight(e.t.scopes[scope].scope.Attributes())
	}
	if res >= 0 && once(&e.weighedRes, len(e.t.res), res) {
		e.t.resourceWeight(res)
	}
}

// once marks i in *marks, sized n, and reports whether it was not marked.
func once(marks *[]bool, n int, i int32) bool {
	if len(*marks) != n {
		*marks = append((*marks)[:0], make([]bool, n)...)
	}
	if (*marks)[i] {
		return false
	}
	(*marks)[i] = true
	return true
}

// removeDropped removes dropped items, then any scope, resource or metric
// that dropping left empty. Containers that arrived empty stay as they were.
func (e *editor) removeDropped() {
	switch e.t.signal {
	case abi.SignalTraces:
		d, n := e.dropped[abi.TableSpan], 0
		rss := e.t.traces.ResourceSpans()
		rss.RemoveIf(func(rs ptrace.ResourceSpans) bool {
			hadScopes := rs.ScopeSpans().Len()
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				spans := ss.Spans()
				had := spans.Len()
				spans.RemoveIf(func(ptrace.Span) bool { n++; return isDropped(d, n-1) })
				return had > 0 && spans.Len() == 0
			})
			return hadScopes > 0 && rs.ScopeSpans().Len() == 0
		})
	case abi.SignalMetrics:
		dm, dp := e.dropped[abi.TableMetric], e.dropped[abi.TablePoint]
		mi, pi := 0, 0
		e.t.metrics.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
			hadScopes := rm.ScopeMetrics().Len()
			rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
				ms := sm.Metrics()
				had := ms.Len()
				ms.RemoveIf(func(m pmetric.Metric) bool {
					mi++
					points := pointCount(m)
					removed := removePoints(m, func() bool { pi++; return isDropped(dp, pi-1) })
					return isDropped(dm, mi-1) || (removed > 0 && removed == points)
				})
				return had > 0 && ms.Len() == 0
			})
			return hadScopes > 0 && rm.ScopeMetrics().Len() == 0
		})
	case abi.SignalLogs:
		d, n := e.dropped[abi.TableLog], 0
		e.t.logs.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
			hadScopes := rl.ScopeLogs().Len()
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
				recs := sl.LogRecords()
				had := recs.Len()
				recs.RemoveIf(func(plog.LogRecord) bool { n++; return isDropped(d, n-1) })
				return had > 0 && recs.Len() == 0
			})
			return hadScopes > 0 && rl.ScopeLogs().Len() == 0
		})
	}
}

// pointCount is how many data points m has.
func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// removePoints removes the points for which next (called once per point,
// in order) is true, and returns how many it removed.
func removePoints(m pmetric.Metric, next func() bool) int {
	before := pointCount(m)
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		m.Gauge().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return next() })
	case pmetric.MetricTypeSum:
		m.Sum().DataPoints().RemoveIf(func(pmetric.NumberDataPoint) bool { return next() })
	case pmetric.MetricTypeHistogram:
		m.Histogram().DataPoints().RemoveIf(func(pmetric.HistogramDataPoint) bool { return next() })
	case pmetric.MetricTypeExponentialHistogram:
		m.ExponentialHistogram().DataPoints().RemoveIf(func(pmetric.ExponentialHistogramDataPoint) bool { return next() })
	case pmetric.MetricTypeSummary:
		m.Summary().DataPoints().RemoveIf(func(pmetric.SummaryDataPoint) bool { return next() })
	}
	return before - pointCount(m)
}

// interner turns guest bytes into strings, reusing one string for repeated
// keys and short values: a filter that tags 1,000 spans with the same key
// and value then costs no allocation per span for them. A small
// direct-mapped cache in front of the map serves the usual case, the same
// few keys and values in every edit, without hashing the whole string.
type interner struct {
	recent [64]string
	m      map[string]string
}

const (
	internMaxLen     = 64
	internMaxEntries = 4096
	// internKept is the most strings an idle instance keeps for its next
	// call: a guest that set 4,000 distinct 64-byte keys left 0.6 MB in
	// each instance, outside the budget (the eleventh round).
	internKept = 256
)

// trim lets the strings of a call with many distinct keys go.
func (in *interner) trim() {
	if len(in.m) > internKept {
		in.m = nil
	}
}

func (in *interner) get(b []byte) string {
	if len(b) > internMaxLen {
		return string(b)
	}
	slot := uint(len(b)) * 7
	if len(b) > 0 {
		slot += uint(b[0])*31 + uint(b[len(b)-1])
	}
	slot &= uint(len(in.recent) - 1)
	if s := in.recent[slot]; s == string(b) { // no allocation for the comparison
		return s
	}
	s, ok := in.m[string(b)] // no allocation for the lookup
	if !ok {
		if in.m == nil || len(in.m) >= internMaxEntries {
			in.m = make(map[string]string, 256)
		}
		s = string(b)
		in.m[s] = s
	}
	in.recent[slot] = s
	return s
}
