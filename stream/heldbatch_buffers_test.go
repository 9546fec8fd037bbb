package stream

import (
	"crypto/rand"
	"net"
	"runtime"
	"testing"
	"testing/synctest"
	"weak"

	"github.com/pushmon/pushmon/protocol"
)

// TestHeldBatchDoesNotKeepReadBuffers: an AckManual Batch keeps its
// session, for Ack, after the connection has ended; it must not keep the
// session's frame Reader too, whose body buffer grew to the largest frame
// the connection read (up to MaxFrameSize): a consumer still working on a
// Batch across a reconnect would otherwise hold a dead connection's frame
// buffer beside the new one's. Here the connection reads a 4 MiB
// (undecodable, skipped) frame after the held Batch's block and ends; once
// the session is over, its Reader is garbage although the Batch is held.
func TestHeldBatchDoesNotKeepReadBuffers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			doc, n := dpDoc("held")
			fc.block(doc, n, protocol.FormatJSON, false)
			<-release
			junk := make([]byte, 4<<20)
			rand.Read(junk)
			junk[0], junk[1] = 0x78, 0x9c // a zlib header, then garbage: skipped
			c.Write(frameOf(protocol.PublishMessage{DataBlockID: 1, Count: 1, Compression: protocol.CompressionZlib,
				Format: protocol.FormatJSON, Payload: junk}))
		}}
		sub, err := SubscribeBatches(t.Context(), leanConfig(d), AckManual)
		if err != nil {
			t.Fatal(err)
		}
		b := <-sub.Batches() // held, not acked
		reader := weak.Make(b.ss.r)
		close(release)
		for range sub.Batches() {
		}
		<-sub.Done()
		d.wg.Wait()
		if got := sub.Stats().BadBlocks; got != 1 {
			t.Fatalf("BadBlocks %d, want the 4 MiB block skipped", got)
		}
		runtime.GC()
		if reader.Value() != nil {
			t.Error("a held Batch keeps its ended session's frame Reader (and its 4 MiB body buffer) alive")
		}
		if err := b.Ack(); err != ErrSessionClosed {
			t.Errorf("Ack after the session ended: %v, want ErrSessionClosed", err)
		}
	})
}
