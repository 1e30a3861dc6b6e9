// SPDX-License-Identifier: Apache-2.0

package jaegerexporter // import "github.com/wasmcol/wasmcol/exporters/jaegerexporter"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type jaegerExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	userAgent string

	conn   *grpc.ClientConn
	client api_v2.CollectorServiceClient
}

func newJaegerExporter(cfg *Config, set exporter.Settings) *jaegerExporter {
	return &jaegerExporter{
		cfg:      cfg,
		settings: set.TelemetrySettings,
		userAgent: fmt.Sprintf("%s/%s (%s/%s)",
			set.BuildInfo.Description, set.BuildInfo.Version, runtime.GOOS, runtime.GOARCH),
	}
}

// start dials here rather than at creation because authenticators and
// middlewares are extensions, reachable only through the host.
func (e *jaegerExporter) start(ctx context.Context, host component.Host) error {
	if e.cfg.legacyInsecure {
		e.settings.Logger.Warn(`The top-level "insecure" setting is deprecated; use "tls: {insecure: ...}" instead`,
			zap.Bool("tls.insecure", e.cfg.ClientConfig.TLS.Insecure))
	}
	conn, err := e.cfg.ClientConfig.ToClientConn(ctx, host.GetExtensions(), e.settings,
		configgrpc.WithGrpcDialOption(grpc.WithUserAgent(e.userAgent)),
		// A collector's answer is a few small headers; a status message
		// of 15 MiB, grpc-go's default allowing 16, cost 7 times its size
		// in heap for every batch it rejected (attack round 15).
		configgrpc.WithGrpcDialOption(grpc.WithMaxHeaderListSize(maxAnswerHeaders)))
	if err != nil {
		return fmt.Errorf("jaeger exporter: connecting to endpoint %q: %w", e.cfg.ClientConfig.Endpoint, err)
	}
	e.conn = conn
	e.client = api_v2.NewCollectorServiceClient(conn)
	return nil
}

func (e *jaegerExporter) shutdown(context.Context) error {
	if e.conn == nil {
		return nil
	}
	return e.conn.Close()
}

// pushTraces sends one PostSpans per Jaeger batch, i.e. per resource.
//
// # Notes
//   - A permanently rejected batch does not stop the others; the request then
//     ends with a permanent error, so exporterhelper counts it as failed
//     instead of silently as sent.
//   - On a retryable error the returned error carries only the batches not
//     yet accepted, so a retry does not store the accepted ones twice.
func (e *jaegerExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if e.client == nil {
		return errors.New("jaeger exporter: not started")
	}
	td, replaced := withoutDeepValues(td)
	if replaced > 0 {
		e.settings.Logger.Warn("replaced attribute values nested too deeply to export",
			zap.Int("values", replaced), zap.Int("max_depth", maxValueDepth))
	}
	batches := jaegertranslator.ProtoFromTraces(td)
	var rejected []error // the first maxKeptRejections
	rejections, rejectedSpans, totalSpans := 0, 0, td.SpanCount()
	for i, b := range batches {
		if len(b.Spans) == 0 {
			// A resource with no spans: nothing for Jaeger to store.
			continue
		}
		_, err := e.client.PostSpans(ctx, &api_v2.PostSpansRequest{Batch: *b})
		if err == nil {
			continue
		}
		err = classifyError(shortStatus(err))
		if consumererror.IsPermanent(err) {
			e.settings.Logger.Error("Jaeger rejected a batch; dropping it",
				zap.String("service", b.Process.ServiceName),
				zap.Int("spans", len(b.Spans)),
				zap.Error(err))
			if rejections++; rejections <= maxKeptRejections {
				rejected = append(rejected, err)
			}
			rejectedSpans += len(b.Spans)
			continue
		}
		if rest, ok := unsentTraces(td, batches, i); ok {
			return consumererror.NewTraces(err, rest)
		}
		return err
	}
	if rejections > 0 {
		more := ""
		if rejections > len(rejected) {
			more = fmt.Sprintf(" (the first %d of %d rejections)", len(rejected), rejections)
		}
		return consumererror.NewPermanent(fmt.Errorf("jaeger exporter: %d of %d spans rejected%s: %w",
			rejectedSpans, totalSpans, more, errors.Join(rejected...)))
	}
	return nil
}

const (
	// maxAnswerHeaders bounds the headers and trailers of a collector's
	// answer, its status message among them.
	maxAnswerHeaders = 64 << 10
	// maxKeptRejections is how many rejections a request's error carries:
	// each is logged as it comes, and one request makes a call per
	// resource.
	maxKeptRejections = 3
	// maxStatusMessage is the most of a collector's status message that is
	// logged or kept.
	maxStatusMessage = 1 << 10
)

// shortStatus is err with its status message cut to maxStatusMessage
// bytes, its code and details kept.
func shortStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || len(st.Message()) <= maxStatusMessage {
		return err
	}
	p := st.Proto()
	p.Message = strings.ToValidUTF8(p.Message[:maxStatusMessage], "") + "..."
	return status.FromProto(p).Err()
}

// classifyError follows core's otlp exporter, so both exporters retry the
// same failures.
func classifyError(err error) error {
	st := status.Convert(err)
	var retryInfo *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retryInfo = ri
			break
		}
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange,
		codes.Unavailable, codes.DataLoss:
	case codes.ResourceExhausted:
		// Only a server that says when to come back can recover; a message
		// over the size limit also reports ResourceExhausted and never will.
		if retryInfo == nil {
			return consumererror.NewPermanent(err)
		}
	default:
		// InvalidArgument (a malformed batch), Unimplemented (e.g. an OTLP
		// port), auth failures: a retry would get the same answer.
		return consumererror.NewPermanent(err)
	}
	if d := retryInfo.GetRetryDelay().AsDuration(); d > 0 {
		return exporterhelper.NewThrottleRetry(err, d)
	}
	return err
}

// unsentTraces returns the resources behind batches[from:]. ProtoFromTraces
// keeps resource order and drops only resources that have neither attributes
// nor scopes; the span counts are checked so that a change in the translator
// degrades to retrying the whole request rather than losing spans.
func unsentTraces(td ptrace.Traces, batches []*model.Batch, from int) (ptrace.Traces, bool) {
	rss := td.ResourceSpans()
	owners := make([]int, 0, len(batches))
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if rs.Resource().Attributes().Len() == 0 && rs.ScopeSpans().Len() == 0 {
			continue
		}
		owners = append(owners, i)
	}
	if len(owners) != len(batches) {
		return ptrace.Traces{}, false
	}
	for k, b := range batches {
		if resourceSpanCount(rss.At(owners[k])) != len(b.Spans) {
			return ptrace.Traces{}, false
		}
	}
	rest := ptrace.NewTraces()
	for _, idx := range owners[from:] {
		if rs := rss.At(idx); resourceSpanCount(rs) > 0 {
			rs.CopyTo(rest.ResourceSpans().AppendEmpty())
		}
	}
	return rest, true
}

func resourceSpanCount(rs ptrace.ResourceSpans) int {
	n := 0
	for i := 0; i < rs.ScopeSpans().Len(); i++ {
		n += rs.ScopeSpans().At(i).Spans().Len()
	}
	return n
}
