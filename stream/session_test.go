package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

func TestEventsDeliveredThenAcked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fc *fakeConn
		ready := make(chan struct{})
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc = newFakeConn(t, c)
			req, ok := fc.login(protocol.StatusOK)
			if !ok {
				return
			}
			if string(req.Username) != "user" || req.Password.Reveal() != SentinelPassword || req.MonitorID != 42 {
				t.Errorf("ConnectRequest = %v", req)
			}
			close(ready)
			go fc.readAcks()
			fc.block(jsonDoc(jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", dpBody("a", 1), false)), 1, protocol.FormatJSON, false)
			fc.block(jsonDoc(
				jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:28Z", "DataPoint", dpBody("b", 2), false),
				jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:29.5Z", "DataPoint", dpBody("c", 3), false),
			), 2, protocol.FormatJSON, true)
			<-fc.done
		}}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		sub, err := Subscribe(ctx, testConfig(d))
		if err != nil {
			t.Fatal(err)
		}
		<-ready
		synctest.Wait()
		if len(fc.acks) != 0 {
			t.Fatalf("%d acks before any hand-off", len(fc.acks))
		}
		ev := <-sub.Events()
		if ev.Topic != "7603/DataPoint/dev1/temp" || ev.Resource != "DataPoint" || ev.Operation != "INSERTION" ||
			!ev.Timestamp.Equal(time.Date(2015, 6, 14, 18, 37, 27, 694e6, time.UTC)) || ev.Group != "*" || ev.Replay || ev.MonitorID != 42 {
			t.Errorf("event = %+v", ev)
		}
		dp, err := ev.DataPoint()
		if err != nil || dp.ID != "a" || dp.Data != "1" || dp.CustomerID != 7603 || dp.Timestamp.Time().UnixMilli() != 1434307047694 {
			t.Errorf("DataPoint = %+v, %v", dp, err)
		}
		synctest.Wait()
		if got := len(fc.acks); got != 1 {
			t.Fatalf("after the first block's only event: %d acks, want 1", got)
		}
		if id := <-fc.acks; id != 0 {
			t.Errorf("ack names block %d, want 0", id)
		}
		ev = <-sub.Events()
		synctest.Wait()
		if len(fc.acks) != 0 {
			t.Fatal("block 1 acked before its second event was handed over")
		}
		ev2 := <-sub.Events()
		synctest.Wait()
		if id := <-fc.acks; id != 1 {
			t.Errorf("ack names block %d, want 1", id)
		}
		if dp, _ := ev.DataPoint(); dp.ID != "b" {
			t.Errorf("second event %v", dp)
		}
		if dp, _ := ev2.DataPoint(); dp.ID != "c" || !ev2.Timestamp.Equal(time.Date(2015, 6, 14, 18, 37, 29, 5e8, time.UTC)) {
			t.Errorf("third event %v %v", dp, ev2.Timestamp)
		}
		if err := sub.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
		if _, ok := <-sub.Events(); ok {
			t.Error("events channel open after Close")
		}
		d.wg.Wait()
		st := sub.Stats()
		if st.Events != 3 || st.Blocks != 2 || st.Acks != 2 || st.Dials != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestConsumerThatNeverReadsCausesNoAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		acks := 0
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			for range 3 {
				if _, err := fc.block(jsonDoc(jsonMsg("1/DeviceCore/1/0", "UPDATE", "2012-04-17T14:14:07.028Z", "DeviceCore", `{"id":{"devId":1}}`, false)), 1, protocol.FormatJSON, false); err != nil {
					break
				}
			}
			for range fc.acks {
				acks++
			}
		}}
		sub, err := Subscribe(t.Context(), testConfig(d))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		sub.Close()
		d.wg.Wait()
		if acks != 0 {
			t.Errorf("%d acks sent although the consumer never read", acks)
		}
	})
}

func TestUnauthorizedIsPermanentAfterOneDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			newFakeConn(t, c).login(protocol.StatusUnauthorized)
		}}
		sub, err := Subscribe(t.Context(), testConfig(d))
		if err != nil {
			t.Fatal(err)
		}
		for range sub.Events() {
			t.Error("event from a refused session")
		}
		err = sub.Err()
		if !errors.Is(err, ErrUnauthorized) || !IsPermanent(err) {
			t.Errorf("Err = %v, want ErrUnauthorized", err)
		}
		var ce *ConnectError
		if !errors.As(err, &ce) || ce.Status != 403 {
			t.Errorf("Err = %#v", err)
		}
		if n := d.dials.Load(); n != 1 {
			t.Errorf("%d dials, want exactly 1", n)
		}
		d.wg.Wait()
	})
}

func TestBadRequestIsPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) { newFakeConn(t, c).login(protocol.StatusBadRequest) }}
		sub, _ := Subscribe(t.Context(), testConfig(d))
		<-sub.Done()
		if err := sub.Err(); !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrUnauthorized) {
			t.Errorf("Err = %v", err)
		}
		if d.dials.Load() != 1 {
			t.Errorf("%d dials", d.dials.Load())
		}
		d.wg.Wait()
	})
}

func TestInvalidConfigFailsBeforeDial(t *testing.T) {
	d := &pipeDialer{serve: func(int, net.Conn) { t.Error("dialled") }}
	long := string(make([]byte, 70000))
	for name, mod := range map[string]func(*Config){
		"monitor 0":     func(c *Config) { c.MonitorID = 0 },
		"no host":       func(c *Config) { c.Addr = "" },
		"long password": func(c *Config) { c.Password = secret.New(long) },
		"long username": func(c *Config) { c.Username = long },
		"bad addr":      func(c *Config) { c.Addr = "nohostport" },
	} {
		cfg := testConfig(d)
		mod(&cfg)
		_, err := Subscribe(t.Context(), cfg)
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v", name, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%s: error text too long (leaks input?): %d bytes", name, len(err.Error()))
		}
	}
	if _, err := SubscribeBatches(t.Context(), testConfig(d), 9); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad AckMode: err = %v", err)
	}
	if d.dials.Load() != 0 {
		t.Error("dialled")
	}
}

func TestStalledFrameTimesOutAndReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stalledAt, redialAt time.Time
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			if i == 1 {
				frame, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{Payload: []byte(jsonDoc(jsonMsg("1/X/1", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false))), Format: protocol.FormatJSON})
				c.Write(frame[:len(frame)/2])
				stalledAt = time.Now()
				c.Read(make([]byte, 1)) // until the client closes
				return
			}
			redialAt = time.Now()
			c.Read(make([]byte, 1))
		}}
		cfg := testConfig(d)
		cfg.FrameTimeout = 5 * time.Second
		cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(0) }
		sub, _ := Subscribe(t.Context(), cfg)
		for d.dials.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		if got := redialAt.Sub(stalledAt); got < 5*time.Second || got > 5*time.Second+100*time.Millisecond {
			t.Errorf("stall detected after %v, want 5s", got)
		}
		sub.Close()
		d.wg.Wait()
	})
}

func TestQuietConnectionIsNotTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			fc.block(jsonDoc(jsonMsg("1/X/1", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false)), 1, protocol.FormatJSON, false)
			time.Sleep(10 * 5 * time.Second)
			fc.block(jsonDoc(jsonMsg("1/X/2", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false)), 1, protocol.FormatJSON, false)
			for range fc.acks {
			}
		}}
		cfg := testConfig(d)
		cfg.FrameTimeout = 5 * time.Second
		sub, _ := Subscribe(t.Context(), cfg)
		<-sub.Events()
		<-sub.Events()
		if n := d.dials.Load(); n != 1 {
			t.Errorf("%d dials on a quiet but healthy connection", n)
		}
		sub.Close()
		d.wg.Wait()
	})
}

func TestCancelWhileBlockedOnConsumerReturnsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			fc.block(jsonDoc(jsonMsg("1/X/1", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false)), 1, protocol.FormatJSON, false)
			for range fc.acks {
				t.Error("ack after cancel")
			}
		}}
		ctx, cancel := context.WithCancel(t.Context())
		sub, _ := Subscribe(ctx, testConfig(d))
		time.Sleep(time.Second)
		synctest.Wait()
		start := time.Now()
		cancel()
		<-sub.Done()
		if el := time.Since(start); el > 0 {
			t.Errorf("cancel took %v of fake time", el)
		}
		if sub.Err() != nil {
			t.Errorf("Err after cancel = %v", sub.Err())
		}
		if st := sub.Stats(); st.Undelivered != 1 {
			t.Errorf("Undelivered = %d, want 1", st.Undelivered)
		}
		d.wg.Wait()
	})
}

// TestFrameErrorOutranksTheAckWriteItProvokes: the server sends a block
// and half the next, then the rest and a frame whose sub-header declares
// more payload than it holds, and closes without reading. The blocks
// before the bad frame are delivered; in the Batches API the hand-off of
// the second one, while the consumer is busy, would write the first's ack
// to the closed connection. In every mode the session ends with the
// frame's error, not with that write's.
func TestFrameErrorOutranksTheAckWriteItProvokes(t *testing.T) {
	a, na := dpDoc("a")
	b, nb := dpDoc("b")
	first := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(na), Format: protocol.FormatJSON, Payload: []byte(a)})
	second := frameOf(protocol.PublishMessage{DataBlockID: 2, Count: uint16(nb), Format: protocol.FormatJSON, Payload: []byte(b)})
	bad := frameOf(protocol.PublishMessage{DataBlockID: 3, Count: 1, Format: protocol.FormatJSON, Payload: []byte("{}")})
	bad[protocol.HeaderSize+6] = 0x16 // PayloadSize: far more than follows
	half := len(second) / 2
	for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: func(_ int, c net.Conn) {
					if _, ok := newFakeConn(t, c).login(protocol.StatusOK); !ok {
						return
					}
					c.Write(append(append([]byte(nil), first...), second[:half]...))
					c.Write(append(append([]byte(nil), second[half:]...), bad...))
				}}
				cfg := leanConfig(d)
				sub, err := subscribeMode(t.Context(), cfg, m)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				take := func(evs ...Event) {
					for _, ev := range evs {
						dp, _ := ev.DataPoint()
						ids = append(ids, dp.ID)
					}
				}
				if m == modeEvents {
					take(<-sub.Events())
					synctest.Wait() // the consumer is busy: the reader waits for it
					for ev := range sub.Events() {
						take(ev)
					}
				} else {
					batch := <-sub.Batches()
					take(batch.Events()...)
					batch.Ack()
					synctest.Wait() // the consumer is busy: the reader waits for it
					for batch := range sub.Batches() {
						take(batch.Events()...)
						batch.Ack()
					}
				}
				d.wg.Wait()
				if err := sub.Err(); !errors.Is(err, protocol.ErrSizeMismatch) {
					t.Errorf("Err = %v, want the bad frame's ErrSizeMismatch", err)
				}
				if fmt.Sprint(ids) != "[a b]" {
					t.Errorf("events %v, want [a b]", ids)
				}
			})
		})
	}
}
