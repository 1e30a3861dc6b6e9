// SPDX-License-Identifier: Apache-2.0

// Package coinflip is the coinflip filter, for the Knative coinflip demo:
// it promotes the `flipped` span event's result to a span attribute, and
// turns pod names used as service.name back into a stable service name.
// See ../README.md for its config.
//
// The command in the directory above builds it as a module of its own,
// coinflip.wasm; examples/builtins holds it with the other built-in filters
// in one module, where it runs as builtin:coinflip.
package coinflip

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	wasmcol "github.com/wasmcol/wasmcol/wasm-sdk"
)

// New returns the filter, for a module to register:
//
//	func init() { wasmcol.Register(coinflip.New()) }
func New() wasmcol.TracesFilter { return &filter{} }

type config struct {
	PromoteResult   bool   `json:"promote_result"`
	ResultEvent     string `json:"result_event"`
	ResultKey       string `json:"result_key"`
	ResultAttribute string `json:"result_attribute"`

	ServiceFromPod   bool   `json:"service_from_pod"`
	PodPattern       string `json:"pod_pattern"`
	PodNameAttribute string `json:"pod_name_attribute"`
}

// defaultPodPattern matches the pod names of a Knative revision
// (<service>-<5-digit generation>-deployment-<rs hash>-<pod hash>) and of a
// plain Deployment (<name>-deployment-<rs hash>-<pod hash>), which is what
// coinflip ($HOSTNAME), the Zipkin-era queue-proxy and heartbeats report
// as their service name.
const defaultPodPattern = `^(?P<service>[a-z0-9]([-a-z0-9]*?[a-z0-9])?)(-[0-9]{5})?-deployment-[a-z0-9]+-[a-z0-9]+$`

func defaults() config {
	return config{
		PromoteResult:    true,
		ResultEvent:      "flipped",
		ResultKey:        "result",
		ResultAttribute:  "coinflip.result",
		ServiceFromPod:   true,
		PodPattern:       defaultPodPattern,
		PodNameAttribute: "k8s.pod.name",
	}
}

type filter struct {
	cfg     config
	pattern *regexp.Regexp
	group   int
	// derived maps a service.name to what it becomes ("" when it is not a
	// pod name), so the regexp runs once per distinct name, not per batch.
	derived *nameCache
}

func (f *filter) Init(c wasmcol.Config) error {
	f.cfg = defaults()
	if err := c.Decode(&f.cfg); err != nil {
		return err
	}
	if f.cfg.PromoteResult && (f.cfg.ResultEvent == "" || f.cfg.ResultKey == "" || f.cfg.ResultAttribute == "") {
		return errors.New("config: promote_result needs result_event, result_key and result_attribute")
	}
	if !f.cfg.ServiceFromPod {
		return nil
	}
	re, err := regexp.Compile(f.cfg.PodPattern)
	if err != nil {
		return fmt.Errorf("config: pod_pattern: %w", err)
	}
	f.group = re.SubexpIndex("service")
	if f.group < 0 {
		if re.NumSubexp() == 0 {
			return errors.New("config: pod_pattern needs a capture group for the service name, ideally (?P<service>...)")
		}
		f.group = 1
	}
	f.pattern = re
	f.derived = &nameCache{}
	return nil
}

func (f *filter) ProcessTraces(t wasmcol.Traces) error {
	if f.cfg.ServiceFromPod {
		// Resources grouped by service.name, by the host: each name is
		// looked up once, and its edits made on all its resources at once.
		named := t.ResourcesWhere(wasmcol.AttrHasPrefix("service.name", "")) // a string
		f.rename(t, named)
	}
	if f.cfg.PromoteResult {
		// The host finds the result events and copies their result onto
		// their spans: no loop over spans and events in the guest.
		t.EventsWhere(wasmcol.NameIs(f.cfg.ResultEvent)).CopyAttrToParent(f.cfg.ResultKey, f.cfg.ResultAttribute)
	}
	return nil
}

// service is the service a service.name stands for when it is a pod's
// name, else "".
func (f *filter) service(name string) string {
	if name == "" {
		return ""
	}
	svc, ok := f.derived.get(name)
	if !ok {
		// name aliases this batch's column buffer: copy what the
		// cache keeps so that it does not pin the buffer.
		name = strings.Clone(name)
		if m := f.pattern.FindStringSubmatch(name); m != nil {
			svc = m[f.group]
		}
		f.derived.put(name, svc)
	}
	if svc == name {
		return ""
	}
	return svc
}

// rename gives the resources of named, whose service.name is a string,
// the service their name derives to, keeping the pod's name where they
// have none. Nothing here takes a selection of the batch per distinct
// name: a group's selection lives in its iteration only, and a Where or
// AndNot per group would cost (names x resources) / 8 bytes of guest
// memory, past the memory limit for a batch of 40,000 pod names. Whether
// a resource has a pod name is asked for the renamed resources only, so
// that a value the host refuses elsewhere does not fail the batch.
func (f *filter) rename(t wasmcol.Traces, named wasmcol.Selection) {
	renamed := t.NoResources()
	for name, rs := range named.ByAttr("service.name") {
		if svc := f.service(name.Str()); svc != "" {
			rs.SetAttr("service.name", wasmcol.Str(svc))
			for i := range rs.All() {
				renamed.Add(i)
			}
		}
	}
	if renamed.Len() == 0 {
		return
	}
	noPod := renamed.AndNot(renamed.Where(wasmcol.HasAttr(f.cfg.PodNameAttribute)))
	for name, rs := range noPod.ByAttr("service.name") {
		rs.SetAttr(f.cfg.PodNameAttribute, wasmcol.Str(name.Str()))
	}
}
