// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ceReceiver is one cloudevents receiver: an HTTP server whose handler
// decodes a request into log records and hands them to the next consumer
// in one call, so the status code speaks for the whole request.
type ceReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     consumer.Logs
	obsrep   *receiverhelper.ObsReport

	server   *http.Server
	shutdown sync.WaitGroup
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*ceReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &ceReceiver{cfg: cfg, settings: set, next: next, obsrep: obsrep}, nil
}

func (r *ceReceiver) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	mux.HandleFunc(exactPattern(r.cfg.Path), r.handleEvents)
	mux.HandleFunc(exactPattern(r.cfg.ReadinessPath), handleReadiness)

	var err error
	r.server, err = r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, mux)
	if err != nil {
		return err
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("cloudevents receiver: listening on %s: %w", r.cfg.NetAddr.Endpoint, err)
	}
	r.settings.Logger.Info("Starting CloudEvents HTTP server", zap.String("endpoint", ln.Addr().String()),
		zap.String("path", r.cfg.Path), zap.String("readiness_path", r.cfg.ReadinessPath))
	r.shutdown.Add(1)
	go func() {
		defer r.shutdown.Done()
		if err := r.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

func (r *ceReceiver) Shutdown(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	// Shutdown waits for requests in flight, so an event the pipeline is
	// still taking gets its answer.
	err := r.server.Shutdown(ctx)
	r.shutdown.Wait()
	return err
}

// exactPattern is a ServeMux pattern matching path and nothing below it
// ("/" alone would match every path).
func exactPattern(path string) string {
	if path == "/" {
		return "/{$}"
	}
	return path
}

// handleReadiness answers a probe: the receiver is listening and started.
func handleReadiness(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeText(w, http.StatusMethodNotAllowed, "the readiness path answers GET and HEAD")
		return
	}
	writeText(w, http.StatusOK, "ready")
}

// handleEvents is the CloudEvents endpoint. The answers follow the Knative
// Eventing data plane contract: 202 once the pipeline took the events (202
// also tells a broker there is no reply event), 4xx that senders do not
// retry for events that can never be accepted, 429 and 503, which they
// retry with backoff, when the pipeline refuses for now.
func (r *ceReceiver) handleEvents(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
	case http.MethodOptions:
		// The data plane contract lets senders probe with OPTIONS.
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusOK)
		return
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		writeText(w, http.StatusMethodNotAllowed, "CloudEvents are delivered with POST")
		return
	}

	body, err := readBody(req)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			r.reject(req.Context(), w, "", 1, &requestError{http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body over max_request_body_size (%d bytes)", tooLarge.Limit)})
			return
		}
		r.reject(req.Context(), w, "", 1, &requestError{http.StatusBadRequest, "reading the request body: " + err.Error()})
		return
	}

	dec, reqErr := decode(req.Header, body)
	if reqErr != nil {
		r.reject(req.Context(), w, dec.mode, dec.count, reqErr)
		return
	}
	logs, reqErr := toLogs(dec, req.Header, r.cfg)
	if reqErr != nil {
		r.reject(req.Context(), w, dec.mode, dec.count, reqErr)
		return
	}

	n := logs.LogRecordCount()
	if n == 0 { // an empty batch
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ctx := r.obsrep.StartLogsOp(req.Context())
	err = r.next.ConsumeLogs(ctx, logs)
	r.obsrep.EndLogsOp(ctx, dec.mode, n, err)
	if err != nil {
		code := pipelineStatus(err)
		writeText(w, code, "the pipeline did not take the events: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// readBody reads the whole body, in one allocation when the sender gave a
// length of up to 16 KiB, which CloudEvents mostly are. A larger declared
// length is not trusted with an allocation before the bytes arrive: with
// 1 MiB allocated up front, 1,000 connections that declared 1 MiB and
// sent nothing held 1 GiB. confighttp's limit applies while reading either
// way.
func readBody(req *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if n := req.ContentLength; n > 0 {
		buf.Grow(int(min(n, maxBodyAhead)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(req.Body)
	return buf.Bytes(), err
}

// maxBodyAhead is the most readBody allocates before the bytes arrive.
const maxBodyAhead = 16 << 10

// reject answers a request that never reached the pipeline and counts its
// events as failed in the receiver's metrics.
func (r *ceReceiver) reject(ctx context.Context, w http.ResponseWriter, mode string, count int, e *requestError) {
	ctx = r.obsrep.StartLogsOp(ctx)
	r.obsrep.EndLogsOp(ctx, mode, count, e)
	r.settings.Logger.Debug("Refused a CloudEvents request", zap.Int("status", e.status), zap.String("reason", e.reason))
	writeText(w, e.status, e.reason)
}

// pipelineStatus maps the next consumer's error to the status a sender
// acts on. Knative retries 429 and 5xx with backoff and sends other 4xx to
// its dead-letter sink at once.
//   - A gRPC ResourceExhausted status (a component asking to slow down) is
//     429 Too Many Requests.
//   - A permanent error means resending cannot help (an exporter's backend
//     rejected the data as invalid): 422, so the sender stops retrying.
//   - Anything else is transient, as the memory_limiter's refusal and a
//     full sending queue are: 503, retried.
func pipelineStatus(err error) int {
	if s, ok := status.FromError(err); ok && s.Code() == codes.ResourceExhausted {
		return http.StatusTooManyRequests
	}
	if consumererror.IsPermanent(err) {
		return http.StatusUnprocessableEntity
	}
	return http.StatusServiceUnavailable
}

// writeText answers with a plain-text reason. Plain text, with no ce-
// headers, is never mistaken for a reply event.
func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// requestError is a request refused before the pipeline: a status and the
// reason the sender sees.
type requestError struct {
	status int
	reason string
}

func (e *requestError) Error() string { return e.reason }
