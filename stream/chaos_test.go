package stream

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/internal/faultnet"
	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// Where a chaos reset hits a connection.
type faultKind int

const (
	faultHeader     faultKind = iota // inside a block's 6-byte frame header
	faultSubHeader                   // inside its 10-byte PublishMessage sub-header
	faultPayload                     // inside an uncompressed document
	faultZlib                        // inside a zlib stream
	faultAfterBlock                  // the whole block written, the connection closed before its ack
	faultInAck                       // the client's ack cut part-way
	numFaultKinds
)

var faultKindNames = [numFaultKinds]string{"header", "sub-header", "payload", "zlib", "after-block", "in-ack"}

func (k faultKind) String() string { return faultKindNames[k] }

// chaosPlan is what happens to one faulted connection.
type chaosPlan struct {
	kind     faultKind
	block    int    // the block of the connection it hits (counting replays)
	pick     uint64 // chooses the byte within the region
	reset    bool   // RST rather than FIN
	lostAcks int    // acks the server ignores before the fault
}

type chaosOptions struct {
	events, resets int
	lostAckEvery   int  // every n-th faulted connection first loses the acks of 50 blocks (0: none)
	soak           bool // one seed (the run's new one, or PUSHMON_CHAOS_SEED)
	mode           mode // how the consumer takes events
	all            bool // modeManualAck: through BatchSubscription.All
	maxBlocks      int  // Config.MaxBatchBlocks
	seeds          int  // how many of chaosSeeds to run (0: all)
}

// chaosSeeds are the seeds of the chaos tests: one fixed and one new per
// run by default, four fixed ones and a new one with PUSHMON_LONG=1 (the
// new one is named in the subtest, so a failure can be replayed with
// PUSHMON_CHAOS_SEED).
func chaosSeeds() []uint64 {
	if s := os.Getenv("PUSHMON_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil {
			return []uint64{n}
		}
	}
	now := uint64(time.Now().UnixNano())
	if longTests() {
		return []uint64{1, 2, 3, 4, now}
	}
	return []uint64{1, now}
}

// chaosScale returns the events and resets of a chaos run: 20 000 events
// over 200 faulted connections with PUSHMON_LONG=1, otherwise 3 000 over
// 30, which still fires every kind of fault several times.
func chaosScale() (events, resets int) {
	if longTests() {
		return 20_000, 200
	}
	return 3_000, 30
}

// TestChaosDelivery: an explicit-ack persistent monitor delivers 3 000
// events in blocks of 1–100 (half of them zlib) over 31 connections, 30
// of which are cut at a random byte of a block's header, sub-header,
// document or zlib stream, between a block and its ack, or inside the ack.
// The server replays un-acked blocks with new DataBlockIds. The consumer
// must see every event exactly once, in order; every ack must name a block
// whose events the consumer already has; no ack may follow cancel. With
// PUSHMON_LONG=1: 20 000 events over 201 connections, and five seeds
// instead of two (see chaosSeeds).
func TestChaosDelivery(t *testing.T) {
	events, resets := chaosScale()
	runChaos(t, chaosOptions{events: events, resets: resets})
}

// TestChaosDeliveryLostAcks is TestChaosDelivery where every tenth faulted
// connection first loses the acks of 50 blocks: all of them are replayed
// and must be dropped as duplicates.
func TestChaosDeliveryLostAcks(t *testing.T) {
	events, resets := chaosScale()
	runChaos(t, chaosOptions{events: events, resets: resets, lostAckEvery: 10})
}

// TestChaosDeliveryBatchModes is TestChaosDelivery (one seed each) for a
// consumer of batches, acked on hand-off (modeBatches) or by Batch.Ack
// once recorded (modeManualAck), with the default batching and with one
// block per Batch; and for a loop over All (modeManualAck), whose blocks
// are acked once the loop body has recorded their last event. Each runs
// at two thirds of TestChaosDelivery's scale (its full scale with
// PUSHMON_LONG=1).
func TestChaosDeliveryBatchModes(t *testing.T) {
	events, resets := chaosScale()
	if !longTests() {
		events, resets = events*2/3, resets*2/3
	}
	for _, mode := range []mode{modeBatches, modeManualAck} {
		for _, maxBlocks := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/maxBlocks=%d", mode, maxBlocks), func(t *testing.T) {
				runChaos(t, chaosOptions{events: events, resets: resets, mode: mode, maxBlocks: maxBlocks, seeds: 1})
			})
		}
	}
	t.Run("all", func(t *testing.T) {
		runChaos(t, chaosOptions{events: events, resets: resets, lostAckEvery: 10, mode: modeManualAck, all: true, seeds: 1})
	})
}

// TestChaosSoak is the longest variant: 1 000 000 events, 10 000 resets.
// It runs only with PUSHMON_SOAK=1 or PUSHMON_LONG=1.
func TestChaosSoak(t *testing.T) {
	if os.Getenv("PUSHMON_SOAK") != "1" && !longTests() {
		t.Skip("set PUSHMON_SOAK=1 or PUSHMON_LONG=1 to run the soak test")
	}
	runChaos(t, chaosOptions{events: 1_000_000, resets: 10_000, lostAckEvery: 10, soak: true})
}

func runChaos(t *testing.T, o chaosOptions) {
	seeds := chaosSeeds()
	if o.soak {
		seeds = seeds[len(seeds)-1:]
	}
	if o.seeds > 0 && o.seeds < len(seeds) {
		seeds = seeds[:o.seeds]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			start := time.Now()
			synctest.Test(t, func(t *testing.T) { chaosRun(t, seed, o) })
			// Logged for information only: a busy machine may take far longer.
			t.Logf("seed %d: %v wall time", seed, time.Since(start).Round(time.Millisecond))
		})
	}
}

// eventIndex returns the index a chaos event was published with.
func eventIndex(ev streamtest.Event) int {
	return ev.Body.(map[string]any)["data"].(int)
}

func chaosRun(t *testing.T, seed uint64, o chaosOptions) {
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(seed, 0x636861_6f73))
	plans := make([]chaosPlan, o.resets)
	for i := range plans {
		p := chaosPlan{kind: faultKind(rng.IntN(int(numFaultKinds))), block: rng.IntN(2), pick: rng.Uint64(), reset: rng.IntN(2) == 0}
		if o.lostAckEvery > 0 && i%o.lostAckEvery == o.lostAckEvery-1 {
			p.lostAcks = 50
			p.block += 50
		}
		plans[i] = p
	}

	srv := newSim(t, streamtest.Options{})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 100, BatchDuration: -1,
		AckExplicit: true, Persistent: true, Compression: "zlib"})

	var (
		mu        sync.Mutex
		fired     = make([]bool, o.resets)
		nFired    int
		byKind    [numFaultKinds]int
		ignored   = make([]int, o.resets)
		current   int  // the server's newest connection
		cancelled bool // acks after this are errors
		problems  int
	)
	var delivered atomic.Int64 // the consumer has events 0 … delivered-1
	report := func(format string, args ...any) {
		// called with mu held
		if problems++; problems <= 10 {
			fail(format, args...)
		}
	}
	markFired := func(conn int) {
		// called with mu held
		if conn < o.resets && !fired[conn] {
			fired[conn] = true
			nFired++
			byKind[plans[conn].kind]++
		}
	}

	srv.SetHooks(id, streamtest.Hooks{
		OnConnect: func(ci streamtest.ConnInfo) streamtest.ConnectAction {
			mu.Lock()
			current = ci.Conn.Seq()
			mu.Unlock()
			return streamtest.ConnectAction{}
		},
		BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			conn := bi.Conn.Seq()
			brng := rand.New(rand.NewPCG(seed, uint64(conn)<<32|uint64(bi.Seq)))
			var p *chaosPlan
			if conn < o.resets && bi.Seq == plans[conn].block && plans[conn].kind != faultInAck {
				p = &plans[conn]
			}
			zip := brng.IntN(2) == 0
			if p != nil && (p.kind == faultZlib || p.kind == faultPayload) {
				zip = p.kind == faultZlib
			}
			frame := bi.Frame
			if !zip {
				frame = uncompressed(t, bi.Frame)
			}
			if p == nil {
				return streamtest.BlockAction{Raw: frame}
			}
			var at int
			switch p.kind {
			case faultHeader:
				at = 1 + int(p.pick%5)
			case faultSubHeader:
				at = 6 + int(p.pick%10)
			case faultPayload, faultZlib:
				at = 16 + int(p.pick%uint64(len(frame)-16))
			case faultAfterBlock:
				at = len(frame)
			}
			mu.Lock()
			markFired(conn)
			mu.Unlock()
			verb := streamtest.BlockCut
			if p.reset {
				verb = streamtest.BlockReset
			}
			return streamtest.BlockAction{Raw: frame, Verb: verb, At: at}
		},
		OnAck: func(ai streamtest.AckInfo) streamtest.AckAction {
			conn := ai.Conn.Seq()
			mu.Lock()
			defer mu.Unlock()
			if cancelled {
				report("ack of block %d on connection %d after cancel", ai.DataBlockID, conn)
			}
			closing := false
			select {
			case <-ai.Conn.Done():
				closing = true // an ack that raced the server's close is lost, not wrong
			default:
			}
			if !ai.Outstanding && !closing || ai.Status != protocol.StatusOK {
				report("ack of block %d (status %d) on connection %d names no outstanding block", ai.DataBlockID, ai.Status, conn)
			}
			// In modeEvents the consumer may still be recording the block's
			// last event, never an earlier one; in modeManualAck it has
			// recorded them all; in modeBatches it has the Batch but may
			// not have recorded any of it yet: with one block per Batch,
			// it has recorded everything before the block. (With several,
			// the blocks before this one in its Batch are unknown here;
			// TestBatchesModeAcksOnHandOff covers that case.)
			have := delivered.Load()
			for _, ev := range ai.Events {
				i := int64(eventIndex(ev))
				if o.mode == modeBatches {
					if o.maxBlocks != 1 {
						break
					}
					i = int64(eventIndex(ai.Events[0]))
				}
				if o.mode == modeManualAck {
					i++
				}
				if i > have {
					report("block %d on connection %d acked before event %d was handed over (consumer has %d)", ai.DataBlockID, conn, i, have)
					break
				}
			}
			if conn < o.resets && ignored[conn] < plans[conn].lostAcks {
				ignored[conn]++
				return streamtest.AckAction{Ignore: true}
			}
			return streamtest.AckAction{}
		},
	})

	reqLen := int64(protocol.HeaderSize + 10 + len("user") + len(SentinelPassword))
	d := simDialer(srv, func(i int) faultnet.Script {
		if i >= o.resets || plans[i].kind != faultInAck {
			return faultnet.Script{}
		}
		p := plans[i]
		mode := faultnet.FIN
		if p.reset {
			mode = faultnet.RST
		}
		off := reqLen + int64(protocol.AckSize*p.block) + 1 + int64(p.pick%(protocol.AckSize-1))
		return faultnet.Script{
			Write: []faultnet.Fault{faultnet.Cut(off, mode)},
			OnFault: func(faultnet.Event) {
				mu.Lock()
				markFired(i)
				mu.Unlock()
			},
		}
	})
	cfg := simConfig(t, d, id)
	cfg.MaxBatchBlocks = o.maxBlocks
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sub, err := subscribeMode(ctx, cfg, o.mode)
	if err != nil {
		t.Fatal(err)
	}

	consumed := make(chan struct{})
	record := func(ev Event) {
		want := delivered.Load()
		got := dpIndex(ev)
		if got != want {
			mu.Lock()
			report("consumer got event %d, want %d (lost or duplicated)", got, want)
			mu.Unlock()
			if got < want {
				return // a duplicate: do not count it
			}
		}
		delivered.Store(got + 1)
	}
	go func() {
		defer close(consumed)
		if o.mode == modeEvents {
			for ev := range sub.Events() {
				record(ev)
			}
			return
		}
		if o.all {
			for ev, err := range sub.bs.All() {
				if err != nil {
					mu.Lock()
					report("All yielded %v", err)
					mu.Unlock()
					continue
				}
				record(ev)
			}
			return
		}
		for b := range sub.Batches() {
			if o.maxBlocks == 1 && len(b.Blocks) != 1 {
				mu.Lock()
				report("a Batch of %d blocks with MaxBatchBlocks 1", len(b.Blocks))
				mu.Unlock()
			}
			for _, ev := range b.Events() {
				record(ev)
			}
			if err := b.Ack(); err != nil && !errors.Is(err, ErrSessionClosed) {
				mu.Lock()
				report("Ack = %v", err)
				mu.Unlock()
			}
		}
	}()

	// Publish in chunks of 1–100 events; each becomes one block (replays
	// after a reset come in blocks of 100). Smaller chunks while a lost-ack connection needs its
	// 50 blocks, or when few events are left for the faults still due.
	published := 0
	for published < o.events {
		mu.Lock()
		pending, conn := o.resets-nFired, current
		lostAcksDue := conn < o.resets && plans[conn].lostAcks > 0 && !fired[conn]
		mu.Unlock()
		hi := 100
		remaining := o.events - published
		if lostAcksDue {
			hi = 10
		} else if need := 2 * pending; need > 0 && remaining < 50*need {
			hi = max(1, min(100, 2*remaining/need))
		}
		k := min(1+rng.IntN(hi), remaining)
		evs := make([]streamtest.Event, k)
		for j := range evs {
			i := published + j
			evs[j] = streamtest.Event{
				Topic:     "DataPoint/dev1/temp",
				Operation: "INSERTION",
				Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
				Body:      map[string]any{"id": fmt.Sprintf("ev-%07d", i), "data": i},
			}
		}
		srv.Publish(evs...)
		published += k
		synctest.Wait()
		// While the client is away (in backoff) let the fake clock run
		// until it is back, so that chunks stay blocks.
		if !srv.Connected(id) {
			srv.WaitConnected(ctx, id)
			synctest.Wait()
		}
	}
	deadline := time.Now().Add(24 * time.Hour)
	for delivered.Load() < int64(o.events) && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		synctest.Wait()
	}
	synctest.Wait()
	mu.Lock()
	cancelled = true
	mu.Unlock()
	cancel()
	<-sub.Done()
	<-consumed
	synctest.Wait()

	st := sub.Stats()
	sst := srv.Stats(id)
	mu.Lock()
	defer mu.Unlock()
	if got := delivered.Load(); got != int64(o.events) {
		fail("consumer has %d of %d events", got, o.events)
	}
	if nFired != o.resets || st.Resets != uint64(o.resets) || st.Connects != uint64(o.resets)+1 {
		fail("%d of %d faults fired; client stats %+v", nFired, o.resets, st)
	}
	if st.Events != uint64(o.events) || st.Undelivered != 0 || st.BadBlocks != 0 || st.Raw != 0 {
		fail("client stats %+v", st)
	}
	if sst.BadAcks != 0 || sst.Queued != 0 {
		fail("server stats %+v", sst)
	}
	var kinds []string
	for k, n := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", faultKind(k), n))
	}
	t.Logf("seed %d: %d events, %d blocks, %d duplicates dropped, %d acks, %d connections, %v of fake time; faults: %s",
		seed, st.Events, st.Blocks, st.Duplicates, st.Acks, st.Connects, time.Since(t0).Round(time.Second), strings.Join(kinds, ", "))
	if o.lostAckEvery > 0 {
		lost := 0
		for _, n := range ignored {
			lost += n
		}
		t.Logf("seed %d: %d acks lost", seed, lost)
	}
}

// dpIndex returns the "data" number of a chaos DataPoint without decoding
// the whole body.
func dpIndex(ev Event) int64 {
	id := string(dataPointID(ev.Body)) // "ev-0001234" with quotes
	n, err := strconv.ParseInt(strings.Trim(id, `"ev-`), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// uncompressed re-encodes a zlib PublishMessage frame without compression.
func uncompressed(t testing.TB, frame []byte) []byte {
	m, err := protocol.ParsePublishMessage(frame[protocol.HeaderSize:])
	if err != nil {
		t.Error(err)
		return frame
	}
	zr, err := zlib.NewReader(bytes.NewReader(m.Payload))
	if err != nil {
		t.Error(err)
		return frame
	}
	doc, err := io.ReadAll(zr)
	if err != nil {
		t.Error(err)
		return frame
	}
	m.Payload, m.Compression = doc, protocol.CompressionNone
	out, err := protocol.AppendPublishMessage(nil, m)
	if err != nil {
		t.Error(err)
		return frame
	}
	return out
}
