//go:build unix

package main

import "syscall"

// processGone reports whether no process has id pid on this host.
func processGone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
