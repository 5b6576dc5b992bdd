//go:build !linux

package store_test

// onTmpfs cannot tell elsewhere; the benchmarks take the directory as it
// comes.
func onTmpfs(string) bool { return false }
