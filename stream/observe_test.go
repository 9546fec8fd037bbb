package stream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// tallies is what an Observer saw from one Origin.
type tallies struct {
	connects, disconnects, blocks, events, dups, invalid, bad, undelivered, acks int
	answers                                                                      map[string]int // by status and reason
	pages, failures                                                              int
	disconnectErrs                                                               []error
	deliveries                                                                   []DeliveryInfo
}

// tally is an Observer that adds up everything it sees, per Origin.
type tally struct {
	NopObserver
	mu sync.Mutex
	by map[Origin]*tallies
	// onDelivered, when set, runs inside Delivered (outside mu).
	onDelivered func(DeliveryInfo)
}

func (o *tally) add(origin Origin, f func(*tallies)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by == nil {
		o.by = make(map[Origin]*tallies)
	}
	t := o.by[origin]
	if t == nil {
		t = &tallies{answers: map[string]int{}}
		o.by[origin] = t
	}
	f(t)
}

func (o *tally) get(id uint32, transport string) tallies {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t := o.by[Origin{MonitorID: id, Transport: transport}]; t != nil {
		return *t
	}
	return tallies{answers: map[string]int{}}
}

func (o *tally) Connected(i ConnectInfo) { o.add(i.Origin, func(t *tallies) { t.connects++ }) }
func (o *tally) Disconnected(i DisconnectInfo) {
	o.add(i.Origin, func(t *tallies) { t.disconnects++; t.disconnectErrs = append(t.disconnectErrs, i.Err) })
}
func (o *tally) BlockReceived(i BlockInfo) { o.add(i.Origin, func(t *tallies) { t.blocks++ }) }
func (o *tally) Delivered(i DeliveryInfo) {
	o.add(i.Origin, func(t *tallies) { t.events += i.Events; t.deliveries = append(t.deliveries, i) })
	if o.onDelivered != nil {
		o.onDelivered(i)
	}
}
func (o *tally) Duplicates(i CountInfo)      { o.add(i.Origin, func(t *tallies) { t.dups += i.N }) }
func (o *tally) InvalidEvents(i InvalidInfo) { o.add(i.Origin, func(t *tallies) { t.invalid += i.N }) }
func (o *tally) BadBlock(i BadBlockInfo)     { o.add(i.Origin, func(t *tallies) { t.bad++ }) }
func (o *tally) Undelivered(i CountInfo)     { o.add(i.Origin, func(t *tallies) { t.undelivered += i.N }) }
func (o *tally) Acked(i CountInfo)           { o.add(i.Origin, func(t *tallies) { t.acks += i.N }) }
func (o *tally) Answered(i AnswerInfo) {
	o.add(i.Origin, func(t *tallies) { t.answers[fmt.Sprint(i.Status, " ", i.Reason)]++ })
}
func (o *tally) Polled(i PollInfo) {
	o.add(i.Origin, func(t *tallies) {
		if i.Err == nil {
			t.pages++
		} else {
			t.failures++
		}
	})
}

// stats returns the counters of Stats that the Observer mirrors, as it
// saw them; statsObserved keeps those of st.
func (t tallies) stats() Stats {
	return Stats{Connects: uint64(t.connects), Blocks: uint64(t.blocks), Events: uint64(t.events),
		Duplicates: uint64(t.dups), Acks: uint64(t.acks), Undelivered: uint64(t.undelivered),
		BadBlocks: uint64(t.bad), Invalid: uint64(t.invalid)}
}

func statsObserved(st Stats) Stats {
	st.Dials, st.Resets, st.Raw, st.BytesRead = 0, 0, 0, 0
	return st
}

// observedEvent is DataPoint event i at ts.
func observedEvent(i int, ts time.Time) streamtest.Event {
	return streamtest.Event{Topic: fmt.Sprintf("DataPoint/dev/%d", i), Operation: "INSERTION", Timestamp: ts,
		Body: map[string]any{"id": fmt.Sprintf("dp-%05d", i), "data": i}}
}

// TestObserverSeesWhatStatsCount runs a subscription, in each mode,
// through reconnects, replays dropped as duplicates, a block with an
// invalid event, a block that cannot be inflated and an event left
// undelivered by Close, and checks that the Observer saw exactly what
// Stats counts, and each connection's end with its cause.
func TestObserverSeesWhatStatsCount(t *testing.T) {
	for _, mode := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { observeScenario(t, mode) })
		})
	}
}

func observeScenario(t *testing.T, mode mode) {
	srv := newSim(t, streamtest.Options{InFlight: 1})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true,
		Persistent: true, BatchSize: 1, BatchDuration: -1})
	start := time.Now()
	ts := start.Add(-time.Minute).Truncate(time.Millisecond)
	frame := func(blockID uint16, m protocol.PublishMessage) []byte {
		m.DataBlockID, m.Count, m.Format = blockID, 2, protocol.FormatJSON
		b, err := protocol.AppendPublishMessage(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	invalidDoc := jsonDoc(
		jsonMsg("1/DataPoint/dev/inv", "INSERTION", ts.Format(time.RFC3339Nano), "DataPoint", `{"id":"ok","data":1}`, false),
		jsonMsg("1/DataPoint/dev/inv", "INSERTION", ts.Format(time.RFC3339Nano), "DataPoint", `{"id":"bad","data":tru}`, false))
	srv.SetHooks(id, streamtest.Hooks{
		// Two blocks are replaced: one with an invalid event, one whose
		// zlib payload is corrupt.
		BeforeBlock: func(b streamtest.BlockInfo) streamtest.BlockAction {
			switch b.Events[0].Topic {
			case "DataPoint/dev/4":
				return streamtest.BlockAction{Raw: frame(b.DataBlockID, protocol.PublishMessage{Payload: []byte(invalidDoc)})}
			case "DataPoint/dev/5":
				return streamtest.BlockAction{Raw: frame(b.DataBlockID, protocol.PublishMessage{
					Compression: protocol.CompressionZlib, Payload: []byte("\x78\x9cnot deflate")})}
			}
			return streamtest.BlockAction{}
		},
		// The first connection loses the ack of event 2's block and is
		// closed: the block is replayed on the next one, and dropped.
		OnAck: func(a streamtest.AckInfo) streamtest.AckAction {
			if a.ConnIndex == 0 && len(a.Events) > 0 && a.Events[0].Topic == "DataPoint/dev/2" {
				return streamtest.AckAction{Ignore: true, Close: true}
			}
			return streamtest.AckAction{}
		},
	})
	obs := &tally{}
	cfg := simConfig(t, simDialer(srv, nil), id)
	cfg.Observer = obs
	sub, err := subscribeMode(t.Context(), cfg, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := srv.WaitConnected(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		srv.Publish(observedEvent(i, ts.Add(time.Duration(i)*time.Millisecond)))
	}
	// 8 events and the invalid block's 2; the corrupt block gives none.
	const want = 10
	var got []Event
	if mode == modeEvents {
		got = take(t, sub.Events(), want)
	} else {
		for len(got) < want {
			select {
			case b := <-sub.Batches():
				got = append(got, b.Events()...)
				if err := b.Ack(); err != nil && !errors.Is(err, ErrSessionClosed) {
					t.Fatal(err)
				}
			case <-time.After(time.Minute):
				t.Fatalf("got %d events, want %d", len(got), want)
			}
		}
	}
	// Once everything is acked, the connection is dropped once more.
	if err := srv.WaitIdle(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	srv.DropConnections(id)
	if err := srv.WaitConnected(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	// An event the consumer never takes: Close leaves it undelivered.
	srv.Publish(observedEvent(10, ts))
	synctest.Wait()
	sub.Close()

	st := sub.Stats()
	o := obs.get(id, "tcp")
	if got := o.stats(); got != statsObserved(st) {
		t.Errorf("the observer saw\n%+v\nStats count\n%+v", got, statsObserved(st))
	}
	if st.Connects != 3 || st.Duplicates != 1 || st.Invalid != 1 || st.BadBlocks != 1 || st.Undelivered != 1 || st.Events != want {
		t.Errorf("the scenario did not happen as planned: %+v", st)
	}
	if o.disconnects != o.connects || len(o.disconnectErrs) != 3 {
		t.Fatalf("%d connects, %d disconnects: %v", o.connects, o.disconnects, o.disconnectErrs)
	}
	for i, err := range o.disconnectErrs[:2] {
		if !errors.Is(err, io.EOF) {
			t.Errorf("disconnect %d: %v, want the server's close (EOF)", i, err)
		}
	}
	if err := o.disconnectErrs[2]; err != nil {
		t.Errorf("disconnect by Close: %v, want nil", err)
	}
	checkLags(t, o.deliveries, ts, ts.Add(9*time.Millisecond), start)
}

// checkLags checks that each delivery's Newest is an event's timestamp
// (within [first, last]) and its Lag the age of Newest at a time between
// since and now.
func checkLags(t *testing.T, ds []DeliveryInfo, first, last, since time.Time) {
	t.Helper()
	now := time.Now()
	if len(ds) == 0 {
		t.Error("no delivery observed")
	}
	for _, d := range ds {
		if d.Newest.Before(first) || d.Newest.After(last) || d.Lag < since.Sub(d.Newest) || d.Lag > now.Sub(d.Newest) {
			t.Errorf("delivery %+v: Newest is not an event's timestamp in [%v, %v], or Lag not its age", d, first, last)
		}
	}
}

// TestHTTPObserverSeesWhatStatsCount: an HTTPReceiver's observer sees
// every answer by status and reason, events, replays dropped, invalid
// events, a document over a budget and events left undelivered by a
// consumer that does not take them, exactly as HTTPStats counts them.
func TestHTTPObserverSeesWhatStatsCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &tally{}
		r := newTestReceiver(t, HTTPConfig{Observer: obs, HandoffTimeout: time.Second})
		deliver := func(doc string, n int) {
			t.Helper()
			ch := pushAsync(r, http.MethodPost, doc)
			take(t, r.Events(), n)
			if w := <-ch; w.Code != http.StatusOK {
				t.Fatalf("push answered %d", w.Code)
			}
		}
		deliver(twoMsgs, 2)
		ch := pushAsync(r, http.MethodPost, twoMsgs) // the server's retry: both dropped
		if w := <-ch; w.Code != http.StatusOK {
			t.Fatalf("retry answered %d", w.Code)
		}
		deliver(`{"Document":{"Msg":[{"topic":"1/DataPoint/d/t","timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{"data":tru}}]}}`, 1)
		for _, c := range []struct {
			method, body string
			mod          []func(*http.Request)
			status       int
		}{
			{http.MethodPost, "", nil, http.StatusOK}, // keep-alive
			{http.MethodPost, twoMsgs, []func(*http.Request){func(q *http.Request) { q.SetBasicAuth("hook", "wrong") }}, http.StatusUnauthorized},
			{http.MethodGet, "", nil, http.StatusMethodNotAllowed},
			{http.MethodPost, `{"Document":{"Msg":{"topic":"1/X/1","X":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}`, nil, http.StatusRequestEntityTooLarge},
			// Nobody takes these events within HandoffTimeout.
			{http.MethodPost, strings.ReplaceAll(twoMsgs, "2025", "2026"), nil, http.StatusServiceUnavailable},
		} {
			if w := push(r, c.method, c.body, c.mod...); w.Code != c.status {
				t.Fatalf("%s %.20q answered %d, want %d", c.method, c.body, w.Code, c.status)
			}
		}
		st := r.Stats()
		o := obs.get(42, "http")
		got := HTTPStats{Events: uint64(o.events), Duplicates: uint64(o.dups), Invalid: uint64(o.invalid),
			OverBudget: uint64(o.bad), Undelivered: uint64(o.undelivered)}
		for k, n := range o.answers {
			switch {
			case k == "200 keep-alive":
				got.KeepAlives += uint64(n)
			case k == "200 delivered":
				got.Delivered += uint64(n)
			case strings.HasPrefix(k, "401 "):
				got.Unauthorized += uint64(n)
			case strings.HasPrefix(k, "503 "):
				got.Unavailable += uint64(n)
			default:
				got.Rejected += uint64(n)
			}
		}
		want := st
		want.Requests, want.Raw, want.Busy = 0, 0, 0
		if got != want {
			t.Errorf("the observer saw\n%+v\nHTTPStats count\n%+v", got, want)
		}
		if st.Events != 3 || st.Duplicates != 2 || st.Invalid != 1 || st.OverBudget != 1 || st.Undelivered != 2 ||
			st.Delivered != 3 || st.KeepAlives != 1 || st.Unauthorized != 1 || st.Rejected != 2 || st.Unavailable != 1 {
			t.Errorf("the scenario did not happen as planned: %+v", st)
		}
		if o.answers["503 consumer busy"] != 1 || o.answers["413 document exceeds a parsing budget"] != 1 {
			t.Errorf("answers %v", o.answers)
		}
	})
}

// TestPollerObserverSeesWhatStatsCount: a Poller's observer sees its
// pages, failed requests, events and the overlap's records skipped, as
// PollStats counts them; it runs without the poller's lock held, so it
// may call Position.
func TestPollerObserverSeesWhatStatsCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		srv.Publish(pollEvents(0, 7)...)
		srv.Throttle(2)
		start := time.Now()
		var p atomic.Pointer[Poller]
		var positions atomic.Int32
		obs := &tally{onDelivered: func(DeliveryInfo) {
			if pp := p.Load(); pp != nil {
				if !pp.mu.TryLock() { // only the poller's goroutine takes it here
					t.Error("Delivered is called with the poller's lock held")
					return
				}
				pp.mu.Unlock()
				pp.Position() // so may an Observer
				positions.Add(1)
			}
		}}
		pl, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 3, Interval: time.Minute, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		p.Store(pl)
		defer pl.Close()
		take(t, pl.Events(), 7)
		synctest.Wait()
		time.Sleep(time.Minute) // the next poll reads the overlap again
		synctest.Wait()
		pl.Close()
		st := pl.Stats()
		o := obs.get(id, "polling")
		got := PollStats{Events: uint64(o.events), Duplicates: uint64(o.dups), Pages: uint64(o.pages), Failures: uint64(o.failures)}
		want := PollStats{Events: st.Events, Duplicates: st.Duplicates, Pages: st.Pages, Failures: st.Failures}
		if got != want {
			t.Errorf("the observer saw %+v, PollStats count %+v", got, want)
		}
		if st.Events != 7 || st.Duplicates != 7 || st.Failures != 2 || positions.Load() != 7 {
			t.Errorf("the scenario did not happen as planned: %+v, Position called %d times", st, positions.Load())
		}
		checkLags(t, o.deliveries, pollBase, pollBase.Add(7*time.Second), start)
	})
}

// TestGroupMembersShareAnObserver: the members of a Group report to the
// Observer of their configs, each under its own Origin.
func TestGroupMembersShareAnObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		tcp := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, BatchSize: 1, BatchDuration: -1})
		psrv, api := offlineSim(t)
		psrv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}}) // an id the tcp monitor does not have
		polled := psrv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		psrv.Publish(pollEvents(0, 3)...)
		obs := &tally{}
		g := NewGroup(t.Context(), GroupConfig{})
		defer g.Close()
		cfg := simConfig(t, simDialer(srv, nil), tcp)
		cfg.Observer = obs
		if err := g.Subscribe(cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Poll(PollerConfig{Client: api, MonitorID: polled, Interval: time.Hour, Observer: obs}); err != nil {
			t.Fatal(err)
		}
		if err := srv.WaitConnected(t.Context(), tcp); err != nil {
			t.Fatal(err)
		}
		srv.Publish(observedEvent(0, time.Now()), observedEvent(1, time.Now()))
		take(t, g.Events(), 5)
		synctest.Wait()
		for id, tr := range map[uint32]string{tcp: "tcp", polled: "polling"} {
			m, _ := g.Member(id)
			if o := obs.get(id, tr); uint64(o.events) != m.Events || m.Events == 0 {
				t.Errorf("monitor %d (%s): the observer saw %d events, the group counts %d", id, tr, o.events, m.Events)
			}
		}
		if o := obs.get(tcp, "tcp"); o.connects != 1 || o.blocks != 2 {
			t.Errorf("tcp member: %+v", o)
		}
	})
}
