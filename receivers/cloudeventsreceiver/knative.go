// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"strings"
)

// sourceIdentity is what an event's source says about who sent it.
type sourceIdentity struct {
	service, namespace, pod string
}

// knativeSource recognises the source URIs of Knative's event sources and
// samples and returns the sender they name:
//
//   - /apis/v1/namespaces/<ns>/<kind>sources/<name>[#<detail>], the shape
//     of the built-in and extension sources (PingSourceSource and
//     KafkaEventSource in knative/eventing and eventing-kafka-broker): the
//     source object <name> in <ns>;
//   - [https://]knative.dev/<repo>/cmd/<cmd>/[...][#<ns>/<pod>], the shape
//     of Knative's sample programs: heartbeats
//     (https://knative.dev/eventing/cmd/heartbeats/#<ns>/<pod>) and
//     coinflip's reply (knative.dev/eventing/cmd/coinflip/<uuid>), where
//     the service is the program, as the coinflip filter names pods.
//
// Other sources (an ApiServerSource sends the API server's URL) say
// nothing reliable about the sender, and the config's resource applies.
func knativeSource(source string) (sourceIdentity, bool) {
	path, fragment, _ := strings.Cut(source, "#")

	if rest, ok := strings.CutPrefix(path, "/apis/v1/namespaces/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) == 3 && isDNSLabel(parts[0]) && strings.HasSuffix(parts[1], "sources") && isDNSLabel(parts[2]) {
			return sourceIdentity{service: parts[2], namespace: parts[0]}, true
		}
		return sourceIdentity{}, false
	}

	rest := path
	for _, scheme := range []string{"https://", "http://"} {
		rest = strings.TrimPrefix(rest, scheme)
	}
	rest, ok := strings.CutPrefix(rest, "knative.dev/")
	if !ok {
		return sourceIdentity{}, false
	}
	_, after, ok := strings.Cut(rest, "/cmd/")
	if !ok {
		return sourceIdentity{}, false
	}
	cmd, _, _ := strings.Cut(after, "/")
	if !isDNSLabel(cmd) {
		return sourceIdentity{}, false
	}
	id := sourceIdentity{service: cmd}
	if ns, pod, ok := strings.Cut(fragment, "/"); ok && isDNSLabel(ns) && isDNSLabel(pod) {
		id.namespace, id.pod = ns, pod
	}
	return id, true
}

// isDNSLabel reports whether s can be a Kubernetes namespace or object
// name segment: lower-case alphanumerics and '-', 1 to 63 characters, not
// starting or ending with '-'. Dots are allowed too, since object names
// (not namespaces) may be DNS subdomains.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
