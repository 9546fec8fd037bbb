package pushserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// SimAnswer is a sim child's answer to a command.
type SimAnswer struct {
	Connected int `json:"connected"` // monitors with a client connected
	Queued    int `json:"queued"`    // (monitor, event) deliveries queued by publish
	Acked     int `json:"acked"`     // blocks acked so far, over all monitors
}

// runSim serves cs.Sessions monitors of topic DataPoint (explicit acks,
// blocks of up to 100 events sent at once) and answers commands:
//
//	connected SECONDS   wait until every monitor has a client
//	publish N           publish N DataPoints (each to every monitor) and
//	                    wait until every monitor has them acked
func runSim(cs ChildSpec, emit func(any), stdin io.Reader) error {
	if cs.Sessions < 1 {
		return fmt.Errorf("sim: %d sessions", cs.Sessions)
	}
	srv, err := streamtest.Start(streamtest.Options{HTTPAddr: "-"})
	if err != nil {
		return err
	}
	defer srv.Close()
	comp := "none"
	if cs.Zlib {
		comp = "zlib"
	}
	ids := make([]uint32, cs.Sessions)
	for i := range ids {
		ids[i], err = srv.TryCreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"},
			AckExplicit: true, BatchSize: 100, BatchDuration: -1, Compression: comp})
		if err != nil {
			return err
		}
	}
	emit(Hello{TCP: srv.PushAddr(), TLS: srv.PushTLSAddr(), CA: srv.CACertPEM(), FirstMonitor: ids[0]})

	var seq uint64
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.Atoi(arg)
		var ans SimAnswer
		var err error
		switch cmd {
		case "connected":
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(n, 1))*time.Second)
			for _, id := range ids {
				if err = srv.WaitConnected(ctx, id); err != nil {
					break
				}
				ans.Connected++
			}
			cancel()
		case "publish":
			evs := make([]streamtest.Event, n)
			for i := range evs {
				evs[i] = Event(seq)
				seq++
			}
			ans.Queued = srv.Publish(evs...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			for _, id := range ids {
				if err = srv.WaitIdle(ctx, id); err != nil {
					break
				}
			}
			cancel()
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
		for _, id := range ids {
			st := srv.Stats(id)
			ans.Acked += st.BlocksAcked
			if cmd != "connected" {
				ans.Connected += st.Connections
			}
		}
		if err != nil {
			emit(Hello{Err: err.Error()})
			continue
		}
		emit(ans)
	}
	return nil
}
