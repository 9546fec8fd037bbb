package stream_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/stream"
)

// pipeDialer hands the server end of each connection it dials to conns.
type pipeDialer struct{ conns chan net.Conn }

func (d pipeDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case d.conns <- s:
		return c, nil
	case <-ctx.Done():
		c.Close()
		s.Close()
		return nil, ctx.Err()
	}
}

// rawPublish is a PublishMessage frame, built byte by byte.
func rawPublish(id uint16, doc string) []byte {
	b := make([]byte, 16, 16+len(doc))
	binary.BigEndian.PutUint16(b, 3)
	binary.BigEndian.PutUint32(b[2:], uint32(10+len(doc)))
	binary.BigEndian.PutUint16(b[6:], id)
	binary.BigEndian.PutUint16(b[8:], 1)
	b[11] = 1 // JSON, uncompressed
	binary.BigEndian.PutUint32(b[12:], uint32(len(doc)))
	return append(b, doc...)
}

// dpBlock is the frame of block id: one DataPoint event named by its id.
func dpBlock(id uint16) []byte {
	name := fmt.Sprint(id)
	return rawPublish(id, `{"Document":{"Msg":{"topic":"1/DataPoint/`+name+`","operation":"INSERTION","timestamp":"2024-01-01T00:00:00Z","DataPoint":{"id":"`+name+`"}}}}`)
}

// acceptLogin reads the client's ConnectRequest from srv, the server's
// end of a push connection, and accepts it.
func acceptLogin(t *testing.T, srv net.Conn) {
	t.Helper()
	hdr := make([]byte, 6)
	if _, err := io.ReadFull(srv, hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(srv, make([]byte, binary.BigEndian.Uint32(hdr[2:]))); err != nil {
		t.Fatal(err)
	}
	srv.Write([]byte{0, 2, 0, 0, 0, 4, 0, 200, 0, 1})
}

// TestAckNotHeldByPartialFrame: a block's ack is written once its events
// are delivered even when the bytes after it are the start of a frame the
// server has not finished sending (a server that sends the rest only
// after the acks it waits for): the reader must not sit on the acks while
// it blocks on that frame, up to FrameTimeout, after which they were lost
// with the connection.
func TestAckNotHeldByPartialFrame(t *testing.T) {
	for _, mode := range []string{"events", "batches", "all-manual"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := pipeDialer{make(chan net.Conn)}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				cfg := stream.Config{Addr: "push.invalid:3200", Username: "u", MonitorID: 1, Plaintext: true, Dialer: d}
				got := make(chan string)
				var closeSub func() error
				switch mode {
				case "events":
					sub, err := stream.Subscribe(ctx, cfg)
					if err != nil {
						t.Fatal(err)
					}
					closeSub = sub.Close
					go func() {
						for ev := range sub.Events() {
							got <- ev.Topic
						}
					}()
				case "batches":
					sub, err := stream.SubscribeBatches(ctx, cfg, stream.AckOnReceive)
					if err != nil {
						t.Fatal(err)
					}
					closeSub = sub.Close
					go func() {
						for b := range sub.Batches() {
							for _, ev := range b.Events() {
								got <- ev.Topic
							}
						}
					}()
				default:
					sub, err := stream.SubscribeBatches(ctx, cfg, stream.AckManual)
					if err != nil {
						t.Fatal(err)
					}
					closeSub = sub.Close
					go func() {
						for ev, err := range sub.All() {
							if err == nil {
								got <- ev.Topic
							}
						}
					}()
				}

				srv := <-d.conns
				acceptLogin(t, srv)
				var mu sync.Mutex
				var acks []uint16
				go func() {
					for {
						a := make([]byte, 10)
						if _, err := io.ReadFull(srv, a); err != nil {
							return
						}
						mu.Lock()
						acks = append(acks, binary.BigEndian.Uint16(a[6:]))
						mu.Unlock()
					}
				}()
				acked := func() string {
					mu.Lock()
					defer mu.Unlock()
					return fmt.Sprint(acks)
				}

				ev := func(name string) string {
					return `{"Document":{"Msg":{"topic":"1/DataPoint/` + name + `","operation":"INSERTION","timestamp":"2024-01-01T00:00:00Z","DataPoint":{"id":"` + name + `"}}}}`
				}
				second := rawPublish(2, ev("b"))
				go srv.Write(append(rawPublish(1, ev("a")), second[:3]...))
				if g := <-got; g != "1/DataPoint/a" {
					t.Fatalf("got %q", g)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if a := acked(); a != "[1]" {
					t.Errorf("a second after block 1 was delivered, with the next frame incomplete: acks %s, want [1]", a)
				}
				go srv.Write(second[3:])
				if g := <-got; g != "1/DataPoint/b" {
					t.Fatalf("got %q", g)
				}
				synctest.Wait()
				if a := acked(); a != "[1 2]" {
					t.Errorf("acks %s, want [1 2]", a)
				}
				cancel()
				closeSub()
				srv.Close()
			})
		})
	}
}
