// SPDX-License-Identifier: Apache-2.0

package jaegertest

import "syscall"

// sysProcAttr kills Jaeger when the test binary dies without running its
// cleanups (a go test -timeout panic, a SIGKILL), so no orphan keeps ports
// and memory on a shared CI machine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
