// SPDX-License-Identifier: Apache-2.0

package jaegerexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/wasmcol/wasmcol/exporters/jaegerexporter/internal/metadata"
)

// fakeCollector is an in-process jaeger.api_v2.CollectorService whose answer
// to each call is scripted, for the error paths a real Jaeger cannot be made
// to take on demand.
type fakeCollector struct {
	api_v2.UnimplementedCollectorServiceServer

	// respond returns the error for the n-th call (0-based); nil accepts.
	respond func(ctx context.Context, n int, req *api_v2.PostSpansRequest) error

	mu       sync.Mutex
	calls    []*api_v2.PostSpansRequest
	accepted []*api_v2.PostSpansRequest
}

func (f *fakeCollector) PostSpans(ctx context.Context, req *api_v2.PostSpansRequest) (*api_v2.PostSpansResponse, error) {
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	var err error
	if f.respond != nil {
		err = f.respond(ctx, n, req)
	}
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.accepted = append(f.accepted, req)
	f.mu.Unlock()
	return &api_v2.PostSpansResponse{}, nil
}

// services returns the process service name of each recorded request.
func services(reqs []*api_v2.PostSpansRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Batch.Process.ServiceName
	}
	return out
}

func (f *fakeCollector) snapshot() (calls, accepted []*api_v2.PostSpansRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*api_v2.PostSpansRequest(nil), f.calls...), append([]*api_v2.PostSpansRequest(nil), f.accepted...)
}

func startFakeCollector(t *testing.T, f *fakeCollector) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	api_v2.RegisterCollectorServiceServer(srv, f)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

type resourceSpec struct {
	service string
	spans   int
}

// tracesOf builds one ResourceSpans per spec, in order; a spec with zero
// spans still carries a resource attribute, which ProtoFromTraces turns into
// an empty batch.
func tracesOf(specs ...resourceSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	for ri, spec := range specs {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", spec.service)
		ss := rs.ScopeSpans().AppendEmpty()
		for i := range spec.spans {
			s := ss.Spans().AppendEmpty()
			s.SetName("op")
			s.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(ri)})
			s.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, byte(ri), byte(i + 1)})
		}
	}
	return td
}

func observedSettings() (exporter.Settings, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	return set, logs
}

// testConfig talks plaintext to endpoint, synchronously (no queue, so that
// ConsumeTraces returns the final outcome), with fast retries.
func testConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.ClientConfig.TLS.Insecure = true
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = 10 * time.Second
	return cfg
}

func startExporter(t *testing.T, cfg *Config, set exporter.Settings) exporter.Traces {
	t.Helper()
	require.NoError(t, confmap.Validate(cfg))
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

func TestPushTracesOnePostSpansPerResource(t *testing.T) {
	f := &fakeCollector{}
	set, _ := observedSettings()
	exp := startExporter(t, testConfig(startFakeCollector(t, f)), set)

	td := tracesOf(
		resourceSpec{"svc-a", 2},
		resourceSpec{"svc-empty", 0},
		resourceSpec{"svc-b", 3},
		resourceSpec{"svc-c", 1},
	)
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))

	calls, _ := f.snapshot()
	// The resource without spans has nothing to store and costs no call.
	require.Equal(t, []string{"svc-a", "svc-b", "svc-c"}, services(calls))
	for i, want := range []int{2, 3, 1} {
		assert.Len(t, calls[i].Batch.Spans, want, "spans in the batch of %s", calls[i].Batch.Process.ServiceName)
	}
}

func TestPushTracesPermanentError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"InvalidArgument", status.Error(codes.InvalidArgument, "malformed span")},
		{"Unimplemented", status.Error(codes.Unimplemented, "unknown service jaeger.api_v2.CollectorService")},
		{"ResourceExhaustedWithoutRetryInfo", status.Error(codes.ResourceExhausted, "message larger than max")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCollector{respond: func(_ context.Context, _ int, req *api_v2.PostSpansRequest) error {
				if req.Batch.Process.ServiceName == "svc-b" {
					return tc.err
				}
				return nil
			}}
			set, logs := observedSettings()
			exp := startExporter(t, testConfig(startFakeCollector(t, f)), set)

			err := exp.ConsumeTraces(context.Background(),
				tracesOf(resourceSpec{"svc-a", 2}, resourceSpec{"svc-b", 3}, resourceSpec{"svc-c", 1}))
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err), "want permanent, got %v", err)
			assert.ErrorContains(t, err, "3 of 6 spans rejected")

			calls, accepted := f.snapshot()
			// Not retried, and the rejection of svc-b did not cost svc-c.
			assert.Equal(t, []string{"svc-a", "svc-b", "svc-c"}, services(calls))
			assert.Equal(t, []string{"svc-a", "svc-c"}, services(accepted))

			rejections := logs.FilterMessage("Jaeger rejected a batch; dropping it").All()
			require.Len(t, rejections, 1)
			assert.Equal(t, zapcore.ErrorLevel, rejections[0].Level)
			fields := rejections[0].ContextMap()
			assert.EqualValues(t, 3, fields["spans"])
			assert.Equal(t, "svc-b", fields["service"])
		})
	}
}

func TestPushTracesRetryResendsOnlyUnsent(t *testing.T) {
	retryInfo, err := status.New(codes.ResourceExhausted, "busy").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(20 * time.Millisecond)})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		fail func(ctx context.Context) error
	}{
		{"Unavailable", func(context.Context) error { return status.Error(codes.Unavailable, "collector restarting") }},
		{"DeadlineExceeded", func(ctx context.Context) error {
			// A real deadline: the server outlives the exporter's timeout.
			<-ctx.Done()
			return ctx.Err()
		}},
		{"ResourceExhaustedWithRetryInfo", func(context.Context) error { return retryInfo.Err() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCollector{respond: func(ctx context.Context, n int, _ *api_v2.PostSpansRequest) error {
				if n == 1 { // the first attempt at svc-b
					return tc.fail(ctx)
				}
				return nil
			}}
			set, _ := observedSettings()
			cfg := testConfig(startFakeCollector(t, f))
			cfg.TimeoutConfig.Timeout = 300 * time.Millisecond
			exp := startExporter(t, cfg, set)

			require.NoError(t, exp.ConsumeTraces(context.Background(),
				tracesOf(resourceSpec{"svc-a", 2}, resourceSpec{"svc-b", 3}, resourceSpec{"svc-c", 1})))

			calls, accepted := f.snapshot()
			assert.Equal(t, []string{"svc-a", "svc-b", "svc-b", "svc-c"}, services(calls))
			// svc-a was accepted before the failure and is not sent twice.
			assert.Equal(t, []string{"svc-a", "svc-b", "svc-c"}, services(accepted))
		})
	}
}

func TestClassifyError(t *testing.T) {
	throttled, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
	require.NoError(t, err)

	for _, tc := range []struct {
		err       error
		permanent bool
	}{
		{status.Error(codes.Unavailable, ""), false},
		{status.Error(codes.DeadlineExceeded, ""), false},
		{status.Error(codes.Canceled, ""), false},
		{status.Error(codes.Aborted, ""), false},
		{throttled.Err(), false},
		{status.Error(codes.InvalidArgument, ""), true},
		{status.Error(codes.ResourceExhausted, ""), true},
		{status.Error(codes.Unimplemented, ""), true},
		{status.Error(codes.Unauthenticated, ""), true},
		{status.Error(codes.PermissionDenied, ""), true},
		{status.Error(codes.Internal, ""), true},
		{errors.New("not a gRPC status"), true}, // status.Convert makes it Unknown
	} {
		t.Run(status.Code(tc.err).String(), func(t *testing.T) {
			got := classifyError(tc.err)
			assert.Equal(t, tc.permanent, consumererror.IsPermanent(got), "%v", got)
			assert.ErrorIs(t, got, tc.err)
		})
	}
}

func TestUnsentTraces(t *testing.T) {
	td := tracesOf(resourceSpec{"a", 1}, resourceSpec{"empty", 0}, resourceSpec{"b", 2}, resourceSpec{"c", 1})
	// A resource with neither attributes nor scopes, which ProtoFromTraces
	// drops without a batch: the batch index must skip it.
	td.ResourceSpans().AppendEmpty()
	td.ResourceSpans().At(4).CopyTo(td.ResourceSpans().AppendEmpty())
	tracesOf(resourceSpec{"d", 2}).ResourceSpans().At(0).CopyTo(td.ResourceSpans().AppendEmpty())

	batches := jaegertranslator.ProtoFromTraces(td)
	require.Len(t, batches, 5, "a, empty, b, c, d")

	rest, ok := unsentTraces(td, batches, 2)
	require.True(t, ok)
	var got []string
	for i := 0; i < rest.ResourceSpans().Len(); i++ {
		v, _ := rest.ResourceSpans().At(i).Resource().Attributes().Get("service.name")
		got = append(got, v.Str())
	}
	assert.Equal(t, []string{"b", "c", "d"}, got)
	assert.Equal(t, 5, rest.SpanCount())

	// If the batches do not line up with the resources, retry everything
	// rather than guess.
	_, ok = unsentTraces(td, batches[1:], 1)
	assert.False(t, ok)
}

func TestStartWarnsAboutLegacyInsecure(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		set, logs := observedSettings()
		cfg := testConfig("127.0.0.1:1")
		cfg.legacyInsecure = legacy
		startExporter(t, cfg, set)
		warnings := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet(`"insecure" setting is deprecated`).Len()
		assert.Equal(t, map[bool]int{false: 0, true: 1}[legacy], warnings, "legacy=%v", legacy)
	}
}

func TestStartFailsOnUnreadableTLSFiles(t *testing.T) {
	cfg := testConfig("127.0.0.1:1")
	cfg.ClientConfig.TLS.Insecure = false
	cfg.ClientConfig.TLS.CAFile = "testdata/does-not-exist-ca.pem"
	// Validate already names the field; start is the second line of defence
	// for configs built in code without Validate.
	require.ErrorContains(t, confmap.Validate(cfg), "tls.ca_file")

	set, _ := observedSettings()
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "does-not-exist-ca.pem")
	require.ErrorContains(t, err, `endpoint "127.0.0.1:1"`)
	require.NoError(t, exp.Shutdown(context.Background()))
}

// TestRejectionsBounded: a collector that rejected every batch with a 15
// MiB status message cost 7 times that in heap for every batch (859 MiB
// for 8 resources), and the request's error joined them all. The
// answer's headers are bounded, each message is cut, and the error keeps
// the first few.
func TestRejectionsBounded(t *testing.T) {
	msg := strings.Repeat("x", 15<<20)
	var calls atomic.Int64
	f := &fakeCollector{respond: func(context.Context, int, *api_v2.PostSpansRequest) error {
		calls.Add(1)
		return status.Error(codes.InvalidArgument, msg)
	}}
	exp := startExporter(t, testConfig(startFakeCollector(t, f)), exportertest.NewNopSettings(metadata.Type))
	specs := make([]resourceSpec, 8)
	for i := range specs {
		specs[i] = resourceSpec{fmt.Sprintf("svc-%d", i), 1}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := exp.ConsumeTraces(context.Background(), tracesOf(specs...))
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	require.True(t, consumererror.IsPermanent(err), "rejected, not retried: %.200v", err)
	require.EqualValues(t, 8, calls.Load(), "every batch tried once")
	require.Contains(t, err.Error(), "8 of 8 spans rejected (the first 3 of 8 rejections)")
	require.Less(t, len(err.Error()), 16<<10, "the error's text")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "allocated while exporting")
}

// TestStatusMessageCut: a message within the headers' bound is kept, cut.
func TestStatusMessageCut(t *testing.T) {
	err := shortStatus(status.Error(codes.InvalidArgument, strings.Repeat("é", 4<<10)))
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code())
	require.LessOrEqual(t, len(st.Message()), maxStatusMessage+3)
	require.True(t, strings.HasSuffix(st.Message(), "..."))
	require.True(t, utf8.ValidString(st.Message()))
	short := status.Error(codes.Unavailable, "try later")
	require.Equal(t, short, shortStatus(short))
}
