package main

import (
	"net"
	"strings"
	"sync"
	"testing"
)

// answering is a TCP listener that answers every connection with reply
// once it has read the client's first bytes, then closes it.
func answering(t *testing.T, reply string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 8192)
				if _, err := c.Read(buf); err == nil {
					c.Write([]byte(reply))
				}
			})
		}
	})
	return ln.Addr().String()
}

// TestWrongPortMessages: a push address that proves the wrong choice of
// -insecure ends the client with the cause, the fix and the flag.
func TestWrongPortMessages(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		reply string
		want  []string
	}{
		{"-insecure against a TLS port", []string{"-insecure"}, "\x15\x03\x03\x00\x02\x02\x0a", []string{"speaks TLS: connect with TLS", "run without -insecure"}},
		{"TLS against a port that is not", nil, "SSH-2.0-OpenSSH_9\r\n", []string{"does not speak TLS", "-insecure connects in plaintext"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := answering(t, c.reply)
			args := append(append([]string{}, c.args...), "-push-addr", addr, "-monitor-id", "100001", "alice", "s3cr3t-sentinel")
			cl := startClient(t, args...)
			code := cl.wait(t)
			out := cl.stderr.String()
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if code != 1 || strings.Contains(out, "s3cr3t-sentinel") {
				t.Errorf("exit %d, stderr:\n%s", code, out)
			}
		})
	}
}
