// SPDX-License-Identifier: Apache-2.0

// Package editor is a test filter that uses every edit the SDK offers,
// chosen by item index, so that the emulator and the real host can be
// compared on the same randomized batches.
package editor

import (
	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// Filter edits traces, metrics and logs.
type Filter struct{}

func firstKey(it wasmcol.Item) (string, bool) {
	for k := range it.Attrs() {
		return k, true
	}
	return "", false
}

// ProcessTraces edits span i according to i mod 8.
func (Filter) ProcessTraces(t wasmcol.Traces) error {
	for s := range t.Spans() {
		switch s.Index() % 8 {
		case 0:
			s.SetAttr("e.str", wasmcol.Str(s.Name()+" ✓"))
			s.SetAttr("e.empty", wasmcol.Str(""))
		case 1:
			s.SetAttr("e.int", wasmcol.Int(int64(s.Index())))
			s.SetAttr("e.double", wasmcol.Double(-1.25))
			s.SetAttr("e.bool", wasmcol.Bool(true))
			s.SetAttr("e.bytes", wasmcol.Bytes([]byte{0, 1, 254, 255}))
		case 2:
			if k, ok := firstKey(s); ok {
				s.DeleteAttr(k)
			}
		case 3:
			if k, ok := firstKey(s); ok {
				s.RenameAttr(k, "renamed")
			}
			s.RenameAttr("absent.key", "never")
		case 4:
			s.SetName("renamed:" + s.Name())
			s.SetKind(wasmcol.SpanKindInternal)
			s.SetStatus(wasmcol.StatusError, "boom")
			s.SetTraceState("ot=th:8")
		case 5:
			s.Drop()
		case 6:
			s.Resource().SetAttr("e.resource", wasmcol.Int(6))
			s.Scope().SetAttr("e.scope", wasmcol.Bool(false))
			for e := range s.Events() {
				e.SetAttr("e.event", wasmcol.Str(e.Name()))
			}
			for l := range s.Links() {
				l.DeleteAttr("link.k")
			}
		case 7:
			// Only values a filter may write: not absent, not map or array.
			if v := s.Attr("k0"); !v.IsEmpty() && v.Kind() != wasmcol.KindOther {
				s.SetAttr("e.copy", v)
			}
		}
	}
	return nil
}

// ProcessMetrics edits metrics and points by index.
func (Filter) ProcessMetrics(m wasmcol.Metrics) error {
	for mt := range m.Metrics() {
		switch mt.Index() % 5 {
		case 0:
			mt.SetName(mt.Name() + ".renamed")
			mt.SetUnit("ms")
			mt.SetDescription("edited")
		case 1:
			mt.Drop()
		}
	}
	for p := range m.Points() {
		switch p.Index() % 4 {
		case 0:
			if v := p.Value(); v.Kind() == wasmcol.KindInt {
				p.SetValue(wasmcol.Int(v.Int() * 2))
			} else if v.Kind() == wasmcol.KindDouble {
				p.SetValue(wasmcol.Double(v.Double() / 2))
			}
		case 1:
			p.Drop()
		case 2:
			p.SetAttr("e.point", wasmcol.Int(int64(p.Index())))
		case 3:
			if k, ok := firstKey(p); ok {
				p.RenameAttr(k, "renamed")
			}
		}
	}
	return nil
}

// ProcessLogs edits log record i according to i mod 4.
func (Filter) ProcessLogs(l wasmcol.Logs) error {
	for r := range l.Records() {
		switch r.Index() % 4 {
		case 0:
			r.SetBody(wasmcol.Str("new body"))
		case 1:
			r.SetSeverity(17, "ERROR")
		case 2:
			r.Drop()
		case 3:
			r.SetBody(wasmcol.Int(42))
			r.SetAttr("e.log", wasmcol.Double(0.5))
		}
	}
	return nil
}
