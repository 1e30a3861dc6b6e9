// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package cloudeventsreceiver

import "time"

// processCPU is not measured here; the benchmarks then omit cpu-ns/item.
func processCPU() time.Duration { return 0 }
