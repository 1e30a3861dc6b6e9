// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// shared is what every instance of one plugin shares: the guest's config,
// the name of the filter it runs, the rate-limited log, the key-value store
// and the guest's counters.
type shared struct {
	config   []byte
	filter   []byte // Options.FilterName
	log      *guestLog
	kv       *kvStore
	counters *counters
	mem      *hostMemory
}

// Limits of the shared services, documented in ABI.md.
const (
	MaxKVKey      = 256
	MaxKVValue    = 64 << 10
	MaxKVEntries  = 10000
	MaxKVBytes    = 16 << 20 // keys and values together
	MaxCounters   = 64
	MaxCounterLen = 64
	maxLogLine    = 2 << 10
)

type kvStore struct {
	mu    sync.Mutex
	m     map[string][]byte
	bytes int // keys and values held
}

func newKV() *kvStore { return &kvStore{m: make(map[string][]byte)} }

// get, cas and delete answer for a key no entry can have without hashing
// it, which they would under the lock every instance of the processor
// shares: a key as long as a guest's memory held the lock for 88-249 ms a
// call, 8 s in fresh memory. The answers are those of an absent key.
func (s *kvStore) get(dst, key []byte) ([]byte, int32) {
	if len(key) > MaxKVKey {
		return dst, abi.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[string(key)]
	if !ok {
		return dst, abi.ErrNotFound
	}
	return append(dst, v...), 0
}

// put stores val under key within the store's bounds. A value of the same
// size is overwritten in place, so a guest rewriting its state every batch
// makes no garbage.
func (s *kvStore) put(key, val []byte) int32 {
	if len(key) == 0 || len(key) > MaxKVKey || len(val) > MaxKVValue {
		return abi.ErrTooLarge
	}
	cur, exists := s.m[string(key)]
	if exists && len(cur) == len(val) {
		copy(cur, val)
		return 0
	}
	grow := len(val) - len(cur)
	if !exists {
		grow += len(key)
		if len(s.m) >= MaxKVEntries {
			return abi.ErrTooLarge
		}
	}
	if s.bytes+grow > MaxKVBytes {
		return abi.ErrTooLarge
	}
	s.bytes += grow
	s.m[string(key)] = bytes.Clone(val)
	return 0
}

func (s *kvStore) set(key, val []byte) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(key, val)
}

// cas swaps when the current value equals old; a nil old means absent.
func (s *kvStore) cas(key, old, val []byte) int32 {
	if len(key) > MaxKVKey {
		if old == nil {
			return abi.ErrTooLarge // absent, as asked: put refuses the key
		}
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, exists := s.m[string(key)]
	if (old == nil) == exists || (exists && !bytes.Equal(cur, old)) {
		return 0
	}
	if rc := s.put(key, val); rc < 0 {
		return rc
	}
	return 1
}

func (s *kvStore) delete(key []byte) int32 {
	if len(key) > MaxKVKey {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[string(key)]; ok {
		s.bytes -= len(key) + len(cur)
		delete(s.m, string(key))
	}
	return 0
}

// counters are guest-defined counters. Names are bounded in number and
// shape so that a guest cannot blow up the Collector's metric cardinality.
type counters struct {
	mu sync.Mutex
	m  map[string]*atomic.Int64
}

func validCounterName(name []byte) bool {
	if len(name) == 0 || len(name) > MaxCounterLen {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (c *counters) add(name []byte, delta int64) int32 {
	if !validCounterName(name) {
		return abi.ErrArgument
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[string(name)]
	if !ok {
		if len(c.m) >= MaxCounters {
			return abi.ErrTooLarge
		}
		if c.m == nil {
			c.m = make(map[string]*atomic.Int64)
		}
		v = new(atomic.Int64)
		c.m[string(name)] = v
	}
	v.Add(delta)
	return 0
}

// CounterValue is one guest counter's current total.
type CounterValue struct {
	Name  string
	Value int64
}

func (c *counters) snapshot() []CounterValue {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CounterValue, 0, len(c.m))
	for k, v := range c.m {
		out = append(out, CounterValue{k, v.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// guestLog forwards guest output to the Collector's logger through a token
// bucket, so a guest that spams cannot flood the logs; what it drops is
// counted and reported once logging resumes.
type guestLog struct {
	logger  *zap.Logger
	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int64
	total   atomic.Int64 // lines dropped over the plugin's life
	burst   float64
	perSec  float64
}

func newGuestLog(l *zap.Logger, perSec, burst float64) *guestLog {
	// A guest's error is no place for the Collector's stack trace, which
	// production logging adds to every error line.
	l = l.WithOptions(zap.AddStacktrace(zap.FatalLevel))
	return &guestLog{logger: l, tokens: burst, burst: burst, perSec: perSec, last: time.Now()}
}

func (g *guestLog) allow() (ok bool, droppedBefore int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	g.tokens = min(g.burst, g.tokens+now.Sub(g.last).Seconds()*g.perSec)
	g.last = now
	if g.tokens < 1 {
		g.dropped++
		g.total.Add(1)
		return false, 0
	}
	g.tokens--
	d := g.dropped
	g.dropped = 0
	return true, d
}

// guest logs msg, a line of the guest's, unless the rate limit drops it;
// it reports whether it was logged.
func (g *guestLog) guest(level int32, msg []byte) bool {
	ok, dropped := g.allow()
	if !ok {
		return false
	}
	if dropped > 0 {
		g.logger.Warn("guest log lines dropped by rate limit", zap.Int64("dropped", dropped))
	}
	if len(msg) > maxLogLine {
		msg = msg[:maxLogLine]
	}
	// The guest's text is a field, never the message: the console encoder
	// prints messages raw, so a guest line holding a newline or tabs could
	// otherwise pass for a line the Collector wrote. It is cut again once
	// escaped, since escaping makes six bytes of a control character:
	// 2 KiB of them made 14 KB lines.
	field := zap.String("guest_message", sanitizeCut(bytes.TrimRight(msg, "\n"), maxLogLine))
	switch level {
	case abi.LogDebug:
		g.logger.Debug(guestLogMessage, field)
	case abi.LogWarn:
		g.logger.Warn(guestLogMessage, field)
	case abi.LogError:
		g.logger.Error(guestLogMessage, field)
	default:
		g.logger.Info(guestLogMessage, field)
	}
	return true
}

// dropLines counts n lines the rate limit dropped at once.
func (g *guestLog) dropLines(n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropped += n
	g.total.Add(n)
}

// guestLogMessage is the message of every line a guest logs.
const guestLogMessage = "guest log"

// sanitize makes guest text printable on one line and unable to disguise
// itself: control characters, line and paragraph separators and format
// characters (bidirectional overrides, zero-width ones) become \uXXXX, and
// invalid UTF-8 the replacement character.
func sanitize(b []byte) string { return sanitizeUpTo(b, math.MaxInt) }

// sanitizeUpTo is sanitize that stops once it has written more than most
// bytes.
func sanitizeUpTo(b []byte, most int) string {
	var sb strings.Builder
	sb.Grow(min(len(b), most))
	for len(b) > 0 && sb.Len() <= most {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n == 1:
			sb.WriteRune(utf8.RuneError)
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			writeEscape(&sb, r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// writeEscape writes r as fmt's "\\u%04x" would, without fmt, which cost
// 150 ns an escape.
func writeEscape(sb *strings.Builder, r rune) {
	const hex = "0123456789abcdef"
	digits := 4
	for v := r >> 16; v > 0; v >>= 4 {
		digits++
	}
	sb.WriteString(`\u`)
	for i := digits - 1; i >= 0; i-- {
		sb.WriteByte(hex[(r>>(4*i))&0xF])
	}
}

// sanitizeCut is cutEscaped(sanitize(b), n), escaping only as much of b
// as the cut can keep (an escape is at most 8 bytes): a guest's line of
// 2,047 control characters was escaped whole, 12 KB to cut back to 2
// KiB, and 32 of them in one fd_write took 8-10 ms under a 2 ms timeout
// (attack round 26).
func sanitizeCut(b []byte, n int) string {
	return cutEscaped(sanitizeUpTo(b, n+8), n)
}

// cutEscaped cuts text sanitize escaped to at most n bytes, without
// splitting a character or an escape: a line cut inside one ended in
// "\u00". A backslash the text held itself may be taken for one and cut a
// few bytes early, which loses nothing a cut line had not lost.
func cutEscaped(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := truncateUTF8(s, n)
	// An escape is \u and four to six hex digits (five for U+E0001).
	if i := strings.LastIndexByte(cut[max(0, len(cut)-7):], '\\'); i >= 0 {
		at := max(0, len(cut)-7) + i
		end := at + 2
		for end < len(s) && end < at+8 && isHexDigit(s[end]) {
			end++
		}
		if strings.HasPrefix(s[at:], `\u`) && end > len(cut) {
			cut = cut[:at]
		}
	}
	return cut
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// lineWriter turns the guest's stdout or stderr into log lines.
type lineWriter struct {
	log   *guestLog
	level int32
	mu    sync.Mutex
	buf   []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if !w.log.guest(w.level, w.buf[:i]) {
			// The limit is reached: the lines left are dropped at once,
			// not each with a clock read and a lock (one fd_write of 64
			// KiB of newlines took 6-10 ms under a 2 ms timeout; review
			// of attack round 26).
			last := bytes.LastIndexByte(w.buf, '\n')
			w.log.dropLines(int64(bytes.Count(w.buf[i+1:last+1], []byte{'\n'})))
			w.buf = w.buf[last+1:]
			break
		}
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLogLine { // a line with no end: flush what we have
		w.log.guest(w.level, w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}
