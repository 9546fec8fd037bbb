//go:build linux

package stream

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// TestDefaultDialerKeepAlive: without a Dialer, connections get TCP
// keepalive with idle 15 s, interval 10 s and 3 probes, so a dead peer on
// a quiet connection is found within 45 s; checked on a real socket.
func TestDefaultDialerKeepAlive(t *testing.T) {
	cfg := testConfig(nil)
	cfg.Dialer = nil
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	nd, ok := cfg.Dialer.(*net.Dialer)
	if !ok {
		t.Fatalf("default dialer is %T", cfg.Dialer)
	}
	want := net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 10 * time.Second, Count: 3}
	if nd.KeepAliveConfig != want {
		t.Errorf("KeepAliveConfig = %+v, want %+v", nd.KeepAliveConfig, want)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := nd.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on, idle, intvl, cnt int
	var errs [4]error
	raw.Control(func(fd uintptr) {
		on, errs[0] = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		idle, errs[1] = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		intvl, errs[2] = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL)
		cnt, errs[3] = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT)
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if on != 1 || idle != 15 || intvl != 10 || cnt != 3 {
		t.Errorf("socket keepalive on=%d idle=%d s interval=%d s count=%d, want 1, 15, 10, 3", on, idle, intvl, cnt)
	}
}
