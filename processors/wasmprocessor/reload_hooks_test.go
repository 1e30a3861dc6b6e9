// SPDX-License-Identifier: Apache-2.0

package wasmprocessor

import "time"

// SetReloadInterval makes reload: true processors started afterwards poll
// their module file every d, so that reload tests run at test speed. It
// returns a function that restores the interval.
func SetReloadInterval(d time.Duration) (restore func()) {
	old := reloadInterval
	reloadInterval = d
	return func() { reloadInterval = old }
}
