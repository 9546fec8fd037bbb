package main

import (
	"os"
	"strings"
)

// pidNamespace returns the inode number of this process's PID namespace
// ("4026531836"), "" when it cannot be read.
func pidNamespace() string {
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	ns, ok := strings.CutPrefix(link, "pid:[")
	ns, ok2 := strings.CutSuffix(ns, "]")
	if !ok || !ok2 || ns == "" || len(ns) > 20 {
		return ""
	}
	return ns
}
