// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package wasmhost

import "io/fs"

// foreignOwner and othersMayWrite check nothing where file modes do not
// say who may write (Windows reports 0777 for any writable directory): a
// cache there is trusted as its directory's access control list allows.
func foreignOwner(fs.FileInfo) string { return "" }

func othersMayWrite(string, fs.FileInfo) bool { return false }

// ownersChecked: nothing here says who may write a directory.
const ownersChecked = false
