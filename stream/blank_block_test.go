package stream

import (
	"fmt"
	"net"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// TestBlankBlockIsAKeepAlive: a block whose document is empty or nothing
// but white space (plain or compressed) is a keep-alive, as an empty HTTP
// push is: it is acked and gives no event. Before, each was delivered as
// a raw event of an empty document, an event nobody sent.
func TestBlankBlockIsAKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var acks []uint16
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			fc.block("", 0, protocol.FormatJSON, false)
			fc.block(" \r\n", 0, protocol.FormatXML, false)
			fc.block("\n", 0, protocol.FormatJSON, true)
			doc, n := dpDoc("a")
			fc.block(doc, n, protocol.FormatJSON, false)
			for id := range fc.acks {
				acks = append(acks, id)
			}
		}}
		sub, _ := Subscribe(t.Context(), testConfig(d))
		ev := <-sub.Events()
		if dp, err := ev.DataPoint(); err != nil || dp.ID != "a" {
			t.Errorf("the first event is %v, want DataPoint a", ev)
		}
		synctest.Wait()
		st := sub.Stats()
		sub.Close()
		d.wg.Wait()
		if fmt.Sprint(acks) != "[0 1 2 3]" || st.Blocks != 4 || st.Events != 1 || st.Raw != 0 || st.BadBlocks != 0 {
			t.Errorf("acks %v, stats %+v; want 4 blocks acked, 1 event, none raw", acks, st)
		}
	})
}
