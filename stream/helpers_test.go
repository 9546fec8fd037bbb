package stream

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

// pipeDialer hands out one end of a net.Pipe per dial and serves the other
// with serve, so session tests run inside a synctest bubble on a fake
// clock.
type pipeDialer struct {
	dials atomic.Int32
	serve func(i int, c net.Conn)
	wg    sync.WaitGroup
}

func (d *pipeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	i := int(d.dials.Add(1))
	client, server := net.Pipe()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer server.Close()
		d.serve(i, server)
	}()
	return client, nil
}

// fakeConn is the server's side of one test connection.
type fakeConn struct {
	t    testing.TB
	c    net.Conn
	r    *protocol.Reader
	next uint16
	acks chan uint16
	done chan struct{} // closed when readAcks returns
}

func newFakeConn(t testing.TB, c net.Conn) *fakeConn {
	return &fakeConn{t: t, c: c, r: protocol.NewReader(c, protocol.ReaderOptions{Side: protocol.ServerSide}), acks: make(chan uint16, 1<<16), done: make(chan struct{})}
}

// login reads the ConnectRequest and answers status.
func (f *fakeConn) login(status protocol.Status) (protocol.ConnectRequest, bool) {
	fr, err := f.r.ReadFrame()
	if err != nil {
		return protocol.ConnectRequest{}, false
	}
	req, err := protocol.ParseConnectRequest(fr.Payload)
	if err != nil {
		f.t.Errorf("bad ConnectRequest: %v", err)
		return req, false
	}
	req.Username = bytes.Clone(req.Username)
	if _, err := f.c.Write(protocol.AppendConnectResponse(nil, status)); err != nil {
		return req, false
	}
	return req, true
}

// loggedIn returns a fakeConn over c that has accepted the login and
// collects acks in the background; ok is false when the login failed.
func loggedIn(t testing.TB, c net.Conn) (fc *fakeConn, ok bool) {
	fc = newFakeConn(t, c)
	if _, ok := fc.login(protocol.StatusOK); !ok {
		return fc, false
	}
	go fc.readAcks()
	return fc, true
}

// readAcks collects acks until the connection ends; run it in a goroutine.
func (f *fakeConn) readAcks() {
	for {
		fr, err := f.r.ReadFrame()
		if err != nil {
			close(f.acks)
			close(f.done)
			return
		}
		a, err := protocol.ParseAck(fr.Payload)
		if err != nil || a.Status != protocol.StatusOK || len(fr.Payload) != 4 {
			f.t.Errorf("bad ack %v %v", a, err)
		}
		f.acks <- a.DataBlockID
	}
}

// block writes one PublishMessage and returns its DataBlockId.
func (f *fakeConn) block(doc string, count int, format protocol.Format, zip bool) (uint16, error) {
	id := f.next
	_, err := f.c.Write(f.appendBlock(nil, doc, count, format, zip))
	return id, err
}

// burst writes one JSON PublishMessage per document, all in one write, so
// that they arrive together; zip[i] compresses document i.
func (f *fakeConn) burst(docs []string, zip []bool) error {
	var all []byte
	for i, doc := range docs {
		all = f.appendBlock(all, doc, 1, protocol.FormatJSON, zip[i])
	}
	_, err := f.c.Write(all)
	return err
}

// appendBlock appends the next PublishMessage to dst.
func (f *fakeConn) appendBlock(dst []byte, doc string, count int, format protocol.Format, zip bool) []byte {
	m := protocol.PublishMessage{DataBlockID: f.next, Count: uint16(count), Format: format, Payload: []byte(doc)}
	if zip {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(doc))
		w.Close()
		m.Payload, m.Compression = b.Bytes(), protocol.CompressionZlib
	}
	dst, err := protocol.AppendPublishMessage(dst, m)
	if err != nil {
		f.t.Fatal(err)
	}
	f.next++
	return dst
}

// jsonMsg renders one Msg object.
func jsonMsg(topic, op, ts, resource, body string, replay bool) string {
	r := ""
	if replay {
		r = `,"replay":true`
	}
	return fmt.Sprintf(`{"topic":%q,"operation":%q,"timestamp":%q,"group":"*"%s,%q:%s}`, topic, op, ts, r, resource, body)
}

func jsonDoc(msgs ...string) string {
	if len(msgs) == 1 {
		return `{"Document":{"Msg":` + msgs[0] + `}}`
	}
	return `{"Document":{"Msg":[` + strings.Join(msgs, ",") + `]}}`
}

func dpBody(id string, v int) string {
	return fmt.Sprintf(`{"id":%q,"cstId":7603,"streamId":"dev1/temp","data":%d,"timestamp":1434307047694,"serverTimestamp":1434307047694,"quality":0}`, id, v)
}

func testConfig(d Dialer) Config {
	return Config{
		Addr:      "rm.test:3201",
		Username:  "user",
		Password:  secret.New(SentinelPassword),
		MonitorID: 42,
		Plaintext: true,
		Dialer:    d,
		Logger:    testLogger("testConfig"),
	}
}

type constantBackOff time.Duration

func (c constantBackOff) NextBackOff() time.Duration { return time.Duration(c) }
func (c constantBackOff) Reset()                     {}

// stopBackOff gives up at once, so a transient error ends a subscription
// and can be inspected through Err.
type stopBackOff struct{}

func (stopBackOff) NextBackOff() time.Duration { return backoff.Stop }
func (stopBackOff) Reset()                     {}

type backoffBackOff = backoff.BackOff
type t_ctx = context.Context

// waitDone waits for sub to end, failing the test after two minutes (of
// the bubble's clock inside synctest): that only turns a hang into a
// failure, however busy the machine.
func waitDone(t *testing.T, sub interface {
	Done() <-chan struct{}
	Close() error
}) {
	t.Helper()
	select {
	case <-sub.Done():
	case <-time.After(2 * time.Minute):
		sub.Close()
		t.Fatal("subscription did not end")
	}
}

// testSub is a subscription started in a mode a test chooses at run time:
// Events works for modeEvents, Batches for the batch modes.
type testSub struct {
	*subscription
	ev *Subscription
	bs *BatchSubscription
}

func (t testSub) Events() <-chan Event   { return t.ev.Events() }
func (t testSub) Batches() <-chan *Batch { return t.bs.Batches() }

// subscribeMode starts a subscription of cfg in mode m: Subscribe for
// modeEvents, SubscribeBatches with the matching AckMode otherwise.
func subscribeMode(ctx context.Context, cfg Config, m mode) (testSub, error) {
	if m == modeEvents {
		s, err := Subscribe(ctx, cfg)
		if err != nil {
			return testSub{}, err
		}
		return testSub{subscription: &s.subscription, ev: s}, nil
	}
	ack := AckOnReceive
	if m == modeManualAck {
		ack = AckManual
	}
	s, err := SubscribeBatches(ctx, cfg, ack)
	if err != nil {
		return testSub{}, err
	}
	return testSub{subscription: &s.subscription, bs: s}, nil
}
