// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"go.opentelemetry.io/collector/confmap"

	"github.com/wasmcol/wasmcol/internal/ocimodule"
)

// Config is the wasm processor's configuration.
type Config struct {
	// Module is a path to a .wasm or .wasm.gz file, builtin:<name>, or
	// oci://registry/repository:tag (or @sha256:<digest>).
	Module string `mapstructure:"module"`
	// SHA256, when set, pins the module's (uncompressed) digest. For
	// builtin:<name> that is the module holding every built-in filter.
	SHA256 string `mapstructure:"sha256"`
	// Config is handed to the guest as JSON at start.
	Config map[string]any `mapstructure:"config"`
	// PoolSize is the number of guest instances; 0 means GOMAXPROCS.
	PoolSize int `mapstructure:"pool_size"`
	// MemoryLimit caps each instance's memory, in MiB.
	MemoryLimit int64 `mapstructure:"memory_limit"`
	// Timeout bounds the guest's work on one batch.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxCallsPerInstance recycles an instance after that many batches; 0 never.
	MaxCallsPerInstance int `mapstructure:"max_calls_per_instance"`
	// HostMemoryLimit caps, in MiB, the host-side memory the guests of
	// this processor cause at once: columns they read, edits they stage,
	// batches they hand back.
	HostMemoryLimit int64 `mapstructure:"host_memory_limit"`
	// OnError is what happens to a batch when the guest fails: pass, drop or error.
	OnError OnError `mapstructure:"on_error"`
	// Env lists the Collector's environment variables the guest may read.
	Env []string `mapstructure:"env"`
	// Mounts are host directories the guest may read.
	Mounts []MountConfig `mapstructure:"mounts"`
	// CacheDir keeps compiled modules across restarts.
	CacheDir string `mapstructure:"cache_dir"`
	// Reload watches the module file, or the oci:// tag, and swaps in new
	// versions.
	Reload bool `mapstructure:"reload"`
	// ReloadInterval is how often reload looks; 0 means every second for
	// a file and every minute for an oci:// tag.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
	// PlainHTTP lets an oci:// module come from a registry without TLS.
	PlainHTTP bool `mapstructure:"plain_http"`
}

// MountConfig exposes a host directory to the guest, read only.
type MountConfig struct {
	HostPath  string `mapstructure:"host_path"`
	GuestPath string `mapstructure:"guest_path"`
}

// OnError is the fault policy.
type OnError string

// Fault policies. Pass is the default: a failing filter must not lose
// telemetry, and because edits are all-or-nothing the batch passes exactly
// as it arrived.
const (
	OnErrorPass  OnError = "pass"
	OnErrorDrop  OnError = "drop"
	OnErrorError OnError = "error"
)

const (
	defaultHostMemory  = 64
	defaultMemoryLimit = 128
	defaultTimeout     = time.Second
	maxMemoryLimit     = 4096 // wasm32 addresses 4 GiB
	maxPoolSize        = 1024
	// minOCIReloadInterval keeps a reloading processor from flooding its
	// registry with requests.
	minOCIReloadInterval = time.Second
	// minReloadInterval and minTimeout refuse what no one means, and what
	// a number without a unit gives: reload_interval: 1 polled the file
	// every nanosecond (a core spinning), and timeout: 1000 failed every
	// batch, which on_error: pass then sent on unfiltered.
	minReloadInterval = 100 * time.Millisecond
	minTimeout        = time.Millisecond
)

func createDefaultConfig() *Config {
	return &Config{
		MemoryLimit:     defaultMemoryLimit,
		HostMemoryLimit: defaultHostMemory,
		Timeout:         defaultTimeout,
		OnError:         OnErrorPass,
	}
}

// Unmarshal decodes the config. The guest's `config` block is read through
// ToStringMap, which resolves every ${env:...} value to plain data even
// inside lists; decoding it into map[string]any directly would leave some
// nested values as the loader's internal wrappers.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(c); err != nil {
		return err
	}
	if conf.IsSet("config") {
		sub, err := conf.Sub("config")
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		c.Config = sub.ToStringMap()
	}
	return nil
}

// Validate reports every problem at once, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	name, isBuiltin := strings.CutPrefix(c.Module, builtinPrefix)
	ref, isOCI := strings.CutPrefix(c.Module, ocimodule.Scheme)
	switch {
	case c.Module == "":
		bad("module", "required: a path to a .wasm or .wasm.gz file, builtin:<name>, or oci://registry/repository:tag")
	case isBuiltin && !hasBuiltin(name):
		bad("module", "unknown built-in %q (built in: %s)", name, strings.Join(builtinNames(), ", "))
	case isBuiltin && c.Reload:
		bad("reload", "a built-in module cannot be reloaded")
	case isOCI:
		parsed, err := ocimodule.ParseReference(ref, c.PlainHTTP)
		if err != nil {
			bad("module", "%v", err)
		} else if c.Reload && ocimodule.IsDigest(parsed) {
			bad("reload", "the module is pinned by digest, so it never changes; reference a tag to reload")
		}
	}
	if c.PlainHTTP && !isOCI {
		bad("plain_http", "applies only to an oci:// module")
	}
	switch {
	case c.ReloadInterval == 0:
	case !c.Reload:
		bad("reload_interval", "set, but reload is false")
	case c.ReloadInterval < 0:
		bad("reload_interval", "must be positive, got %s", c.ReloadInterval)
	case isOCI && c.ReloadInterval < minOCIReloadInterval:
		bad("reload_interval", "must be at least %s for an oci:// module, so as not to flood the registry, got %s", minOCIReloadInterval, c.ReloadInterval)
	case c.ReloadInterval < minReloadInterval:
		bad("reload_interval", "must be at least %s, got %s (a number without a unit is nanoseconds: write 1s)", minReloadInterval, c.ReloadInterval)
	}
	if c.SHA256 != "" {
		if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != 32 {
			bad("sha256", "want 64 hexadecimal digits, got %q", c.SHA256)
		}
	}
	if _, err := json.Marshal(c.Config); err != nil {
		bad("config", "cannot be encoded as JSON: %v", err)
	}
	if c.PoolSize < 0 || c.PoolSize > maxPoolSize {
		bad("pool_size", "must be between 0 (GOMAXPROCS) and %d, got %d", maxPoolSize, c.PoolSize)
	}
	if c.MemoryLimit < 1 || c.MemoryLimit > maxMemoryLimit {
		bad("memory_limit", "must be between 1 and %d MiB, got %d", maxMemoryLimit, c.MemoryLimit)
	}
	if c.HostMemoryLimit < 1 || c.HostMemoryLimit > maxMemoryLimit {
		bad("host_memory_limit", "must be between 1 and %d MiB, got %d", maxMemoryLimit, c.HostMemoryLimit)
	}
	switch {
	case c.Timeout <= 0:
		bad("timeout", "must be positive, got %s", c.Timeout)
	case c.Timeout < minTimeout:
		bad("timeout", "must be at least %s, got %s (a number without a unit is nanoseconds: write 1s)", minTimeout, c.Timeout)
	}
	if c.MaxCallsPerInstance < 0 {
		bad("max_calls_per_instance", "must be 0 (never recycle) or more, got %d", c.MaxCallsPerInstance)
	}
	switch c.OnError {
	case OnErrorPass, OnErrorDrop, OnErrorError:
	default:
		bad("on_error", "must be pass, drop or error, got %q", c.OnError)
	}
	for i, name := range c.Env {
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			bad(fmt.Sprintf("env[%d]", i), "%q is not an environment variable name", name)
		}
	}
	// wazero keeps the last of two mounts at one guest path, and a path
	// it cleans differently from the host ("/data/.") leaves the mount
	// unusable: both started without a word and failed in the guest
	// (attack round 27c).
	guestPaths := map[string]int{}
	for i, m := range c.Mounts {
		if m.HostPath == "" {
			bad(fmt.Sprintf("mounts[%d].host_path", i), "required")
		}
		field := fmt.Sprintf("mounts[%d].guest_path", i)
		// A trailing slash is wazero's to strip, and configs have used it.
		switch clean := path.Clean(m.GuestPath); {
		case !path.IsAbs(m.GuestPath):
			bad(field, "must be an absolute path, got %q", m.GuestPath)
		case clean != m.GuestPath && clean != strings.TrimRight(m.GuestPath, "/"):
			bad(field, "must be a clean path, %q rather than %q", clean, m.GuestPath)
		default:
			if j, dup := guestPaths[clean]; dup {
				bad(field, "%q is mounts[%d]'s too", clean, j)
			}
			guestPaths[clean] = i
		}
	}
	return errors.Join(errs...)
}
