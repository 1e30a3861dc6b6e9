// SPDX-License-Identifier: Apache-2.0

package guestprof

import (
	"syscall"
	"time"
	"unsafe"
)

// Linux's CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID.
const clockProcessCPU, clockThreadCPU = 2, 3

// ThreadCPU is the CPU time the calling thread has used. Unlike the wall
// clock it does not count time the thread spent descheduled, so figures
// taken on a busy shared machine stay close to a quiet one's. Lock the
// goroutine to its thread (runtime.LockOSThread) for as long as the
// differences of readings are to mean anything. It costs a system call,
// a fraction of a microsecond.
func ThreadCPU() time.Duration { return cpuClock(clockThreadCPU) }

// ProcessCPU is the CPU time all the process's threads have used: over a
// benchmark's timed loop, the batches' own work and what the garbage
// collector and the runtime did meanwhile on the other cores. Where the
// wall clock says how long a batch took, this says what it cost.
func ProcessCPU() time.Duration { return cpuClock(clockProcessCPU) }

func cpuClock(id uintptr) time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
