package bridge

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// A batch with many times more events than MaxPending is published in
// parts: every event is stored once, the batch is acked, and no more than
// MaxPending messages ever await their PubAck. (The JetStream client's
// limit is MaxPending+1, so a batch of any size, even more than a block
// can hold, never stalls it; 70 000 events would take too long here.)
func TestPipelineBatchLargerThanMaxPending(t *testing.T) {
	const (
		n          = 6000
		perBlock   = 1000
		maxPending = 100
		mon        = 7
	)
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	cfg := StreamConfig(DefaultStream, DefaultSubjectPrefix)
	cfg.Storage = jetstream.MemoryStorage
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if _, err := EnsureStream(ctx, js, cfg, DefaultSubjectPrefix, false); err != nil {
		t.Fatal(err)
	}

	b, err := New(Config{Conn: nc, Push: stream.Config{Addr: "127.0.0.1:1", Username: "u"},
		Monitors: []uint32{mon}, MaxPending: maxPending})
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(b, b.mons[0], b.stop)
	maxWaiting := 0 // seen at each PubAck, the message acked included
	onAck := func(js jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
		p.mu.Lock()
		maxWaiting = max(maxWaiting, len(p.waiting))
		p.mu.Unlock()
		p.onAck(js, m, ack)
	}
	p.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(b.maxAsync),
		jetstream.WithPublishAsyncAckHandler(onAck),
		jetstream.WithPublishAsyncErrHandler(p.onErr))
	if err != nil {
		t.Fatal(err)
	}
	defer p.js.CleanupPublisher()

	var blocks []stream.Block
	for from := 0; from < n; from += perBlock {
		var doc bytes.Buffer
		doc.WriteString(`{"Document":{"Msg":[`)
		for i := from; i < from+perBlock; i++ {
			if i > from {
				doc.WriteByte(',')
			}
			ev := event(i)
			fmt.Fprintf(&doc, `{"topic":"%d/%s","operation":"INSERTION","DataPoint":%s}`,
				streamtest.DefaultCustomerID, ev.Topic, ev.Body)
		}
		doc.WriteString(`]}}`)
		blocks = append(blocks, stream.Block{DataBlockID: uint16(len(blocks)), Format: stream.FormatJSON, Document: doc.Bytes()})
	}
	batch := &stream.Batch{MonitorID: mon, Blocks: blocks}
	if got := len(batch.Events()); got != n {
		t.Fatalf("the batch holds %d events, want %d", got, n)
	}
	batches := make(chan *stream.Batch, 1)
	batches <- batch
	close(batches)
	p.batches, p.srcErr = batches, func() error { return nil }

	if err := p.run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !p.progress {
		t.Error("the batch was not acked")
	}
	st := b.Stats()
	if st.Blocks != n/perBlock || st.Acked != n/perBlock || st.Events != n || st.Stored != n {
		t.Errorf("stats %+v, want %d blocks acked, %d events stored", st, n/perBlock, n)
	}
	if maxWaiting > maxPending {
		t.Errorf("%d messages awaited their PubAck at once, MaxPending is %d", maxWaiting, maxPending)
	}
	checkExactlyOnce(t, readStream(t, js, DefaultStream), n, true)
}
