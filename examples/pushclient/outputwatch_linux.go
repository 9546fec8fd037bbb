package main

// Noticing that stdout's reader has gone away while no event is being
// written (pushclient | head on a quiet monitor): without it, the client
// would learn it only at the next event, which may never come.

import (
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const (
	pollIn   = 0x1
	pollErr  = 0x8
	pollHup  = 0x10
	pollNval = 0x20
)

// watchOutput calls gone, once, when the reader of f — a pipe or a socket
// — has gone away, until stop is called (stop waits for the watcher to
// end). For anything else (a terminal, a file) it does nothing.
func watchOutput(f *os.File, gone func()) (stop func()) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return func() {}
	}
	if m := st.Mode & syscall.S_IFMT; m != syscall.S_IFIFO && m != syscall.S_IFSOCK {
		return func() {}
	}
	var wake [2]int
	if err := syscall.Pipe2(wake[:], syscall.O_CLOEXEC); err != nil {
		return func() {}
	}
	fds := []pollFd{
		// No events asked: poll still reports POLLERR (a pipe without
		// reader) and POLLHUP (a socket whose peer has gone).
		{fd: int32(f.Fd())},
		{fd: int32(wake[0]), events: pollIn},
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), 0, 0, 0, 0)
			switch {
			case errno == syscall.EINTR:
				continue
			case errno != 0, fds[1].revents != 0, fds[0].revents&pollNval != 0:
				return
			case fds[0].revents&(pollErr|pollHup) != 0:
				gone()
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			syscall.Write(wake[1], []byte{0})
			wg.Wait()
			syscall.Close(wake[0])
			syscall.Close(wake[1])
		})
	}
}
