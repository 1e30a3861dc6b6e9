// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package jaegertest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; Stop in tb.Cleanup
// is then the only way the process ends.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
