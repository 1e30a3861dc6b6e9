// SPDX-License-Identifier: Apache-2.0

package ocimodule

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DockerConfigPath is the Docker config file credentials are read from:
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json. On Kubernetes,
// mount an image-pull secret's .dockerconfigjson as config.json in a
// directory and point DOCKER_CONFIG at it.
func DockerConfigPath() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// dockerConfig is the part of a Docker config file (or a Kubernetes
// .dockerconfigjson) that names credentials.
type dockerConfig struct {
	Auths       map[string]dockerAuth `json:"auths"`
	CredsStore  string                `json:"credsStore"`
	CredHelpers map[string]string     `json:"credHelpers"`
}

type dockerAuth struct {
	Auth          string `json:"auth"` // base64 of user:password
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// dockerKeychain resolves credentials from the "auths" of the Docker config
// file, read afresh on every lookup so that a rotated secret is picked up.
//
// Credential helpers (credsStore, credHelpers) are not run: the Collector
// would execute whatever binary a config file names, with the Collector's
// privileges, and a pod has none of them anyway.
type dockerKeychain struct{}

func (dockerKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	path := DockerConfigPath()
	cfg, err := readDockerConfig(path)
	if err != nil {
		return nil, err
	}
	a, err := cfg.lookup(target.RegistryStr())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if a == nil {
		return authn.Anonymous, nil
	}
	return a, nil
}

// readDockerConfig reads path; a missing file is an empty config, as for
// the docker CLI.
func readDockerConfig(path string) (*dockerConfig, error) {
	cfg := &dockerConfig{}
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Docker config: %w", err)
	}
	// The decoder's errors name offsets and fields, never values, so no
	// secret ends up in a log.
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("the Docker config %s is not valid JSON: %w", path, err)
	}
	return cfg, nil
}

// lookup finds the entry for registry. Keys are written in many ways
// ("https://index.docker.io/v1/", "registry.example.com", "http://host:5000"),
// so each is reduced to its host, as the docker CLI does. It returns nil
// when no entry holds credentials for registry.
func (c *dockerConfig) lookup(registry string) (authn.Authenticator, error) {
	for key, a := range c.Auths {
		if registryHost(key) != registryHost(registry) {
			continue
		}
		cfg := authn.AuthConfig{
			Username:      a.Username,
			Password:      a.Password,
			IdentityToken: a.IdentityToken,
			RegistryToken: a.RegistryToken,
		}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				// The error names the entry, never its value.
				return nil, fmt.Errorf("the \"auth\" of %q is not base64 of user:password", key)
			}
			cfg.Username, cfg.Password = user, pass
		}
		if cfg == (authn.AuthConfig{}) {
			continue
		}
		return authn.FromConfig(cfg), nil
	}
	return nil, nil
}

// registryHost reduces a config key or registry name to host[:port].
func registryHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	if s == "docker.io" || s == "registry-1.docker.io" {
		return name.DefaultRegistry
	}
	return s
}

// authHint explains a refusal by the registry: where credentials were
// looked for and what was found there. It never includes a credential.
func authHint(registry string) string {
	path := DockerConfigPath()
	if path == "" {
		return "no Docker config file: neither DOCKER_CONFIG nor a home directory is set"
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Sprintf("no Docker config at %s (set DOCKER_CONFIG to the directory holding config.json)", path)
	}
	cfg, err := readDockerConfig(path)
	if err != nil {
		return err.Error()
	}
	if a, _ := cfg.lookup(registry); a != nil {
		return fmt.Sprintf("the registry refused the credentials for %s in %s, or the token service it named did", registry, path)
	}
	helper := cfg.CredHelpers[registry]
	if helper == "" {
		helper = cfg.CredsStore
	}
	if helper != "" {
		return fmt.Sprintf("%s has no \"auths\" entry for %s; it names the credential helper %q, which wasmcol does not run", path, registry, helper)
	}
	return fmt.Sprintf("%s has no \"auths\" entry for %s", path, registry)
}
