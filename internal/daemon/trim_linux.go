package daemon

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ReleaseStartupPages drops this process's resident pages of its own
// executable's read-only mappings (code and constants) and stops the kernel
// from mapping neighbouring pages on each fault there.
//
// The binary carries every command (the Kubernetes and AWS clients, the
// kind and container back-ends), and the initialisation of all their
// packages touches code scattered over the whole text, each fault mapping
// up to 64 KiB around it: a serving process holds some 45 MB of its
// executable it never runs again. Once serving, those pages are only
// references to the page cache; dropping them costs minor faults for the
// code the process does run, which come back one page at a time. Writable
// mappings are never touched, so no state is lost.
func ReleaseStartupPages() (released int64, err error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("find own executable: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("read own mappings: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		start, end, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(start, 16, 64)
		hi, err2 := strconv.ParseUint(end, 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		for _, advice := range []uintptr{syscall.MADV_RANDOM, syscall.MADV_DONTNEED} {
			if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), advice); e != 0 {
				return released, fmt.Errorf("madvise %s: %w", fields[0], e)
			}
		}
		released += int64(hi - lo)
	}
	return released, sc.Err()
}
