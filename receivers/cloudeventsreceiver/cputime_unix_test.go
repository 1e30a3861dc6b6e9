// SPDX-License-Identifier: Apache-2.0

//go:build unix

package cloudeventsreceiver

import (
	"syscall"
	"time"
)

// processCPU is the CPU time, user and system, the test process has used:
// on a shared machine, CPU per item moves far less than items per second.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
