// SPDX-License-Identifier: Apache-2.0

package wasmhost

// HoldHostMemory takes n bytes of the plugin's host memory budget, as
// other calls in flight would, until release.
func (p *Plugin) HoldHostMemory(n int64) (release func()) {
	if !p.shared.mem.take(n) {
		panic("budget")
	}
	return func() { p.shared.mem.give(n) }
}
