package reconcile

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func statKey(path string) (fileKey, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileKey{}, err
	}
	if !fi.Mode().IsRegular() {
		return fileKey{}, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	k := fileKey{size: uint64(fi.Size()), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ino = st.Ino
		k.ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return k, nil
}
