package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/pushmon/pushmon/stream"
)

// TestDisconnectCause: each way a push connection ends has its own label.
func TestDisconnectCause(t *testing.T) {
	for err, want := range map[error]string{
		nil:                         "stopped",
		fmt.Errorf("x: %w", io.EOF): "server_closed",
		syscall.ECONNRESET:          "server_closed",
		fmt.Errorf("%w: no complete frame: %w", stream.ErrFrameTimeout, os.ErrDeadlineExceeded):      "frame_timeout",
		fmt.Errorf("%w: the server read no ack: %w", stream.ErrWriteTimeout, os.ErrDeadlineExceeded): "write_timeout",
		&os.SyscallError{Syscall: "read", Err: syscall.ECONNREFUSED}:                                 "network",
		errors.New("protocol"): "error",
	} {
		if got := disconnectCause(err); got != want {
			t.Errorf("disconnectCause(%v) = %q, want %q", err, got, want)
		}
	}
}
