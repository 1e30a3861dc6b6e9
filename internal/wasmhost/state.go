// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"math"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wasmcol/wasmcol/wasm-sdk/abi"
)

// callState is one instance's side of the ABI. An instance runs one call at
// a time, so nothing here is locked; its buffers live as long as the
// instance and are reused, which keeps the per-batch host allocations to
// what pdata itself needs.
type callState struct {
	t         tables
	ed        editor
	result    []byte
	hasResult bool
	edits     []byte
	otlp      []byte
	hasOTLP   bool
	failMsg   string
	limits    limits
	shared    *shared
}

type limits struct {
	maxEdits int // bytes of staged edits per call
}

func (st *callState) setResult() int32 {
	if len(st.result) > math.MaxInt32 {
		st.result = st.result[:0]
		return abi.ErrTooLarge
	}
	st.hasResult = true
	return int32(len(st.result))
}

func (st *callState) begin(signal int32) {
	st.t.reset(signal)
	st.ed.t = &st.t
	st.ed.reset()
	st.hasResult = false
	st.result = st.result[:0]
	st.edits = st.edits[:0]
	st.otlp = st.otlp[:0]
	st.hasOTLP = false
	st.failMsg = ""
}

// end forgets the batch. Large buffers are dropped rather than kept, so one
// huge batch does not pin its memory to the instance forever.
func (st *callState) end() {
	st.t.release()
	const keep = 4 << 20
	if cap(st.result) > keep {
		st.result = nil
	}
	if cap(st.edits) > keep {
		st.edits = nil
	}
	if cap(st.otlp) > keep {
		st.otlp = nil
	}
}

func (st *callState) marshal(dst []byte) ([]byte, error) {
	var p []byte
	var err error
	switch st.t.signal {
	case abi.SignalTraces:
		p, err = (&ptrace.ProtoMarshaler{}).MarshalTraces(st.t.traces)
	case abi.SignalMetrics:
		p, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(st.t.metrics)
	default:
		p, err = (&plog.ProtoMarshaler{}).MarshalLogs(st.t.logs)
	}
	return append(dst, p...), err
}

// stageOTLP keeps a replacement batch; it is decoded only if the call
// succeeds.
func (st *callState) stageOTLP(p []byte) error {
	st.otlp = append(st.otlp[:0], p...)
	st.hasOTLP = true
	return nil
}
