// SPDX-License-Identifier: Apache-2.0

package wasmhost

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// WASI limits per call. A guest reaches WASI through host functions, where
// no instrumented check runs, so each one checks the deadline when it is
// entered and does a bounded amount of work.
const (
	// MaxIovecs is the most iovecs one fd_read or fd_write may name
	// (Linux's IOV_MAX).
	MaxIovecs = 1024
	// MaxWriteBytes is the most one write to stdout or stderr takes; a
	// longer write is short, and the guest's libc writes the rest in
	// further calls, each checked.
	MaxWriteBytes = 64 << 10
	// MaxPollSubscriptions bounds poll_oneoff.
	MaxPollSubscriptions = 64
	// randomChunk: random_get fills this much between deadline checks.
	randomChunk = 64 << 10
	// MaxPathBytes bounds every path a path_* function is given (Linux's
	// PATH_MAX). wazero copies a path out of guest memory before it looks
	// at the descriptor: a path as long as a guest's memory made each
	// call copy all of it, 4 GiB at memory_limit 4096, with no mount.
	MaxPathBytes = 4 << 10
	// MaxReadBytes is the most one fd_read or fd_pread reads. wazero
	// reads every iovec of a call in one go, where no deadline reaches:
	// 1,024 iovecs of 1 MiB over one buffer read 1 GiB of a large mounted
	// file in a call. Past it a read is short, which a guest's libc
	// continues in further calls, each checked.
	MaxReadBytes = 1 << 20
)

const (
	errnoFault       = 21
	errnoInval       = 28
	errnoNameTooLong = 37
)

// instantiateWASI adds wasi_snapshot_preview1 to r: wazero's own functions,
// each wrapped to check the calling instance's deadline first, with the
// ones whose work a guest controls replaced or bounded.
func instantiateWASI(ctx context.Context, r wazero.Runtime) error {
	orig, err := wasi_snapshot_preview1.NewBuilder(r).Compile(ctx)
	if err != nil {
		return err
	}
	defer orig.Close(ctx)
	b := r.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	for name, def := range orig.ExportedFunctions() {
		inner, ok := def.GoFunction().(api.GoModuleFunction)
		if !ok {
			return fmt.Errorf("wasi %s: not a Go module function", name)
		}
		fn := checked(inner)
		switch name {
		case "fd_write":
			fn = fdWrite(inner)
		case "fd_read", "fd_pread":
			fn = boundedReads(inner)
		case "fd_pwrite":
			fn = boundedIovecs(inner)
		case "random_get":
			fn = randomGet
		case "poll_oneoff":
			fn = pollOneoff(inner)
		case "path_open":
			fn = pathOpen(inner)
		case "fd_renumber":
			fn = fdRenumber(inner)
		case "fd_readdir":
			fn = fdReaddir(inner)
		}
		if lens := pathLengths(def.ParamNames()); len(lens) > 0 {
			fn = boundedPaths(fn, lens)
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(fn, def.ParamTypes(), def.ResultTypes()).
			WithParameterNames(def.ParamNames()...).
			Export(name)
	}
	_, err = b.Instantiate(ctx)
	return err
}

// pathLengths returns the positions of a WASI function's parameters that
// are the length of a path it reads: path_len, old_path_len, new_path_len
// (not fd_prestat_dir_name's result.path_len, a buffer it writes).
func pathLengths(params []string) []int {
	var at []int
	for i, name := range params {
		if strings.HasSuffix(name, "path_len") && !strings.HasPrefix(name, "result.") {
			at = append(at, i)
		}
	}
	return at
}

// boundedPaths refuses, before fn runs, a call naming a path longer than
// MaxPathBytes.
func boundedPaths(fn api.GoModuleFunc, lens []int) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		for _, i := range lens {
			if api.DecodeU32(stack[i]) > MaxPathBytes {
				stack[0] = errnoNameTooLong
				return
			}
		}
		fn(ctx, m, stack)
	}
}

// checked runs fn after the deadline check.
func checked(fn api.GoModuleFunction) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		if g := guardOf(ctx); g != nil {
			g.check()
		}
		fn.Call(ctx, m, stack)
	}
}

// boundedIovecs refuses calls naming more than MaxIovecs iovecs (the
// count is every such function's third parameter).
func boundedIovecs(fn api.GoModuleFunction) api.GoModuleFunc {
	inner := checked(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		if api.DecodeU32(stack[2]) > MaxIovecs {
			stack[0] = errnoInval
			return
		}
		inner(ctx, m, stack)
	}
}

// boundedReads is boundedIovecs for a read, which gets MaxReadBytes
// (mountFile counts them down).
func boundedReads(fn api.GoModuleFunction) api.GoModuleFunc {
	inner := boundedIovecs(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		if st := stateOf(ctx); st != nil {
			st.readLeft = MaxReadBytes
		}
		inner(ctx, m, stack)
	}
}

// fdWrite serves stdout and stderr itself: at most MaxIovecs iovecs and
// MaxWriteBytes per call, into the instance's rate-limited log. Other
// descriptors go to wazero's implementation, iovecs bounded.
func fdWrite(fn api.GoModuleFunction) api.GoModuleFunc {
	other := boundedIovecs(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		st := stateOf(ctx)
		fd := api.DecodeU32(stack[0])
		if st == nil || (fd != 1 && fd != 2) {
			other(ctx, m, stack)
			return
		}
		st.guard.check()
		iovs, n, result := api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
		if n > MaxIovecs {
			stack[0] = errnoInval
			return
		}
		w := st.stdout
		if fd == 2 {
			w = st.stderr
		}
		mem := guestMemory(m)
		if mem == nil {
			stack[0] = errnoFault
			return
		}
		written := uint32(0)
		for i := uint32(0); i < n && written < MaxWriteBytes; i++ {
			vec, ok := readMemory(mem, iovs+8*i, 8)
			if !ok {
				stack[0] = errnoFault
				return
			}
			ptr, size := le32(vec[0:]), le32(vec[4:])
			size = min(size, MaxWriteBytes-written)
			buf, ok := readMemory(mem, ptr, size)
			if !ok {
				stack[0] = errnoFault
				return
			}
			_, _ = w.Write(buf)
			written += size
		}
		if !mem.WriteUint32Le(result, written) {
			stack[0] = errnoFault
			return
		}
		stack[0] = 0
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// randomGet fills the buffer in chunks, checking the deadline between
// them: one call can ask for all of memory.
func randomGet(ctx context.Context, m api.Module, stack []uint64) {
	g := guardOf(ctx)
	buf, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if n == 0 {
		stack[0] = 0
		return
	}
	mem := guestMemory(m)
	if mem == nil {
		stack[0] = errnoFault
		return
	}
	dst, ok := readMemory(mem, buf, n) // checked whole before any is filled
	if !ok {
		stack[0] = errnoFault
		return
	}
	for len(dst) > 0 {
		if g != nil {
			g.check()
		}
		chunk := dst[:min(randomChunk, len(dst))]
		_, _ = rand.Read(chunk)
		dst = dst[len(chunk):]
	}
	stack[0] = 0
}

func pollOneoff(fn api.GoModuleFunction) api.GoModuleFunc {
	inner := checked(fn)
	return func(ctx context.Context, m api.Module, stack []uint64) {
		if api.DecodeU32(stack[2]) > MaxPollSubscriptions {
			stack[0] = errnoInval
			return
		}
		inner(ctx, m, stack)
	}
}
