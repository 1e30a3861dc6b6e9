// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package wasmhost

import "syscall"

// probeAttr: only Linux can tie a child's life to its parent's; elsewhere
// an orphaned probe ends at its own limits.
func probeAttr() *syscall.SysProcAttr { return nil }
