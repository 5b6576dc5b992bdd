package store_test

import "golang.org/x/sys/unix"

// onTmpfs reports whether dir is on tmpfs (or ramfs), where fsync costs
// nothing and a write benchmark would measure no disk.
func onTmpfs(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}
