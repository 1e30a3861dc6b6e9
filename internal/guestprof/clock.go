// SPDX-License-Identifier: Apache-2.0

package guestprof

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPU is Linux's CLOCK_THREAD_CPUTIME_ID.
const clockThreadCPU = 3

// ThreadCPU is the CPU time the calling thread has used. Unlike the wall
// clock it does not count time the thread spent descheduled, so figures
// taken on a busy shared machine stay close to a quiet one's. Lock the
// goroutine to its thread (runtime.LockOSThread) for as long as the
// differences of readings are to mean anything. It costs a system call,
// a fraction of a microsecond.
func ThreadCPU() time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPU, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
