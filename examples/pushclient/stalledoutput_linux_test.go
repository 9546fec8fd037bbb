package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// pipeBuffered returns how many bytes the pipe holds unread (FIONREAD)
// and how many it can hold (F_GETPIPE_SZ).
func pipeBuffered(t *testing.T, r *os.File) (held, size int) {
	t.Helper()
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, r.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("FIONREAD: %v", errno)
	}
	const fGetPipeSz = 1032
	sz, _, errno := syscall.Syscall(syscall.SYS_FCNTL, r.Fd(), fGetPipeSz, 0)
	if errno != 0 {
		t.Fatalf("F_GETPIPE_SZ: %v", errno)
	}
	return int(n), int(sz)
}

// TestSignalWhileStdoutIsNotRead: stdout's reader is alive but reads
// nothing (a paused pager, a pipe into a stuck process), and the client
// is blocked writing an event larger than the pipe. SIGTERM still ends the
// run and deletes its monitor: the write under way is abandoned once the
// push session has ended. (It hung in the write, deaf to the signal,
// until a second one killed it with its monitor left behind.)
func TestSignalWhileStdoutIsNotRead(t *testing.T) {
	srv := simulator(t)
	r, c := startPiped(t, srv) // r: open to the end, never read
	cmd, stderr := c.cmd, c.stderr
	id := ownMonitor(t, srv, c)
	_, size := pipeBuffered(t, r)
	// One event larger than the pipe: once the pipe is full, the client is
	// in the middle of writing it, and stays there.
	srv.Publish(streamtest.Event{Topic: "DeviceCore/big/0", Operation: "UPDATE",
		Body: map[string]any{"blob": strings.Repeat("x", 4*size)}})
	eventually(t, "the pipe is full", func() bool {
		held, _ := pipeBuffered(t, r)
		return held >= size
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t); code != 0 {
		t.Errorf("SIGTERM: exit %d\n%s", code, stderr)
	}
	if exists(srv, id) {
		t.Errorf("monitor %d not deleted after SIGTERM\n%s", id, stderr)
	}
}
