// SPDX-License-Identifier: Apache-2.0

package cloudeventsreceiver

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
)

// Defaults. 8090 is the port distro/config.yaml and the Kubernetes
// examples use; like every Collector receiver, the default endpoint is
// loopback only.
const (
	defaultEndpoint      = "localhost:8090"
	defaultPath          = "/"
	defaultReadinessPath = "/readyz"
	// 256 KiB: larger than any Knative source's event, and small enough
	// that a log backend (most cap a record well below 1 MiB) takes it.
	defaultMaxDataSize = 256 << 10
	// A minute for a whole request, as confighttp gives its headers.
	defaultReadTimeout = time.Minute
)

// Config is the cloudevents receiver's configuration.
type Config struct {
	// ServerConfig is the HTTP server: endpoint, tls, auth,
	// max_request_body_size, cors, include_metadata, timeouts...
	confighttp.ServerConfig `mapstructure:",squash"`

	// Path is where events are POSTed. Other paths answer 404.
	Path string `mapstructure:"path"`

	// ReadinessPath answers GET with 200 while the receiver runs, for
	// probes and load balancers that check this port itself.
	ReadinessPath string `mapstructure:"readiness_path"`

	// MaxDataSize caps one event's data, in bytes. An event over it is
	// refused with 413 rather than truncated: a cut JSON document is no
	// longer the event.
	MaxDataSize int64 `mapstructure:"max_data_size"`

	// Resource holds resource attributes for every event. For an event
	// whose source is a Knative source URI, the service.name and
	// k8s.namespace.name derived from the source win over these.
	Resource map[string]string `mapstructure:"resource"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate reports every invalid field at once, by name.
func (c *Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("path: %q must start with /", c.Path))
	}
	if !strings.HasPrefix(c.ReadinessPath, "/") {
		errs = append(errs, fmt.Errorf("readiness_path: %q must start with /", c.ReadinessPath))
	}
	if c.Path == c.ReadinessPath {
		errs = append(errs, fmt.Errorf("readiness_path: %q is also the events path", c.ReadinessPath))
	}
	if c.MaxDataSize <= 0 {
		errs = append(errs, fmt.Errorf("max_data_size: %d must be positive", c.MaxDataSize))
	}
	// The server's own cap (20 MiB when unset) applies first; a data cap
	// above it could never be reached.
	if c.MaxRequestBodySize > 0 && c.MaxDataSize > c.MaxRequestBodySize {
		errs = append(errs, fmt.Errorf("max_data_size: %d is over max_request_body_size (%d)", c.MaxDataSize, c.MaxRequestBodySize))
	}
	for k := range c.Resource {
		if k == "" {
			errs = append(errs, errors.New("resource: an attribute name is empty"))
		}
	}
	return errors.Join(errs...)
}
