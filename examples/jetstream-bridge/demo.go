package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// demo is -demo's world: an embedded NATS server with JetStream in a
// temporary directory, and the Remote Manager simulator with a persistent
// explicit-ack monitor and generated traffic.
type demo struct {
	natsURL  string
	pushAddr string
	tls      *tls.Config
	user     string
	password string
	monitor  uint32

	ns     *server.Server
	dir    string
	sim    *streamtest.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startDemo(ctx context.Context, o *options, log *slog.Logger) (*demo, error) {
	dir, err := os.MkdirTemp("", "jetstream-bridge-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{dir: dir, user: "demo", password: "demo"}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		d.close()
		return nil, fmt.Errorf("starting the NATS server: %w", err)
	}
	ns.Start()
	d.ns = ns
	if !ns.ReadyForConnections(10 * time.Second) {
		d.close()
		return nil, fmt.Errorf("the embedded NATS server did not start")
	}
	d.natsURL = fmt.Sprintf("nats://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)

	sim, err := streamtest.Start(streamtest.Options{Users: map[string]string{d.user: d.password}, HTTPAddr: "-", PushAddr: "-"})
	if err != nil {
		d.close()
		return nil, fmt.Errorf("starting the simulator: %w", err)
	}
	d.sim, d.pushAddr, d.tls = sim, sim.PushTLSAddr(), sim.ClientTLSConfig()
	d.monitor, err = sim.TryCreateMonitor(streamtest.MonitorSpec{
		Topics: []string{"DeviceCore", "DataPoint", "FileData"}, BatchSize: 50, BatchDuration: 200 * time.Millisecond,
		Compression: "zlib", AckExplicit: true, Persistent: true,
	})
	if err != nil {
		d.close()
		return nil, err
	}
	gctx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	d.wg.Go(func() { sim.Generate(gctx, streamtest.Generator{Devices: 5, Rate: 200}) })
	log.Info("demo: embedded NATS server and simulator running", "nats", d.natsURL, "push_tls", d.pushAddr, "monitor_id", d.monitor)
	return d, nil
}

func (d *demo) close() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	if d.sim != nil {
		d.sim.Close()
	}
	if d.ns != nil {
		d.ns.Shutdown()
		d.ns.WaitForShutdown()
	}
	os.RemoveAll(d.dir)
}

// printSample prints the stream's last n messages: subject, headers, data.
func printSample(w io.Writer, s jetstream.Stream, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "stream %s: %d messages on %d subjects\n", info.Config.Name, info.State.Msgs, info.State.NumSubjects)
	last := info.State.LastSeq
	for seq := last - min(last, uint64(n)) + 1; seq <= last && seq > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "\n#%d %s\n", m.Sequence, m.Subject)
		for _, k := range []string{bridge.HeaderMsgID, bridge.HeaderTopic, bridge.HeaderOperation,
			bridge.HeaderTimestamp, bridge.HeaderReplay, bridge.HeaderMonitor, bridge.HeaderFormat} {
			if v := m.Header.Get(k); v != "" {
				fmt.Fprintf(w, "  %s: %s\n", k, v)
			}
		}
		data := string(m.Data)
		if len(data) > 200 {
			data = data[:200] + "…"
		}
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(data))
	}
}
