package faultnet_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/pushmon/pushmon/internal/faultnet"
)

// A client whose outgoing stream is reset after 5 bytes, however it writes.
func ExampleWrap() {
	client, server := net.Pipe()
	defer server.Close()
	s := faultnet.Script{Write: []faultnet.Fault{faultnet.Slice(2), faultnet.Cut(5, faultnet.RST)}}
	c := faultnet.Wrap(client, s)
	defer c.Close()

	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(server)
		got <- b
	}()
	n, err := c.Write([]byte("hello, world"))
	fmt.Println(s)
	fmt.Println(n, errors.Is(err, syscall.ECONNRESET), errors.Is(err, faultnet.ErrInjected))
	fmt.Printf("server got %q\n", <-got)
	fmt.Println(c.Events())
	// Output:
	// read[—] write[slice≤2 cut@5/rst]
	// 5 true true
	// server got "hello"
	// [write cut@5/rst at 5]
}
