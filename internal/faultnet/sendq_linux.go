//go:build linux

package faultnet

import (
	"net"
	"syscall"
	"unsafe"
)

// sendQueueLen returns the bytes written to tc that the peer has not yet
// acknowledged (ioctl SIOCOUTQ, which equals TIOCOUTQ), and whether it
// could be read.
func sendQueueLen(tc *net.TCPConn) (int, bool) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(n), true
}
