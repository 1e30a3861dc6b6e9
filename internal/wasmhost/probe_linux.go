// SPDX-License-Identifier: Apache-2.0

package wasmhost

import "syscall"

// probeAttr has the kernel kill a compile probe whose Collector has died,
// rather than leave it compiling on its own.
func probeAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
