package streamtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// logLines collects formatted log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// A refused 6-byte ack is reported on Warnf in one line that names the
// fix, and not on Logf; without Warnf the line goes to Logf.
func TestRefusedLegacyAckIsReported(t *testing.T) {
	for _, withWarnf := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			var warn, logs logLines
			opts := offline()
			opts.Logf = logs.logf
			if withWarnf {
				opts.Warnf = warn.logf
			}
			s := NewServer(opts)
			defer s.Close()
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
			rc := pipeClient(t, s)
			defer rc.Close()
			rc.mustConnect(id)
			blocks := rc.pump()
			s.Publish(dp("d", "s", 1))
			b := recv(t, blocks)
			rc.c.Write(protocol.AppendLegacyAck(nil, b.ID))
			synctest.Wait()
			if _, ok := <-blocks; ok {
				t.Fatal("connection still open")
			}
			got := warn.get()
			if !withWarnf {
				got = nil
				for _, l := range logs.get() {
					if strings.Contains(l, "refused") {
						got = append(got, l)
					}
				}
			}
			if len(got) != 1 || !strings.Contains(got[0], "6-byte ack") || !strings.Contains(got[0], "AcceptLegacyAck") ||
				!strings.Contains(got[0], "-strict-ack") || !strings.Contains(got[0], "00 04 00 00 00 04") {
				t.Fatalf("warnings %q", got)
			}
			if withWarnf {
				for _, l := range logs.get() {
					if strings.Contains(l, "AcceptLegacyAck") {
						t.Errorf("the fix was also logged on Logf: %q", l)
					}
				}
			}
		})
	}
}

// Acks that name no outstanding block or carry a status other than 200
// are reported once per connection, naming the fix; other malformed acks
// once, as they close the connection.
func TestBadAcksAreReportedOncePerConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var warn logLines
		opts := offline()
		opts.Warnf = warn.logf
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, Persistent: true})
		rc := pipeClient(t, s)
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1))
		b := recv(t, blocks)
		rc.ack(b.ID + 100)
		rc.ack(b.ID + 101)
		rc.c.Write(ack500(b.ID))
		synctest.Wait()
		if st := s.Stats(id); st.BadAcks != 3 {
			t.Fatalf("stats %+v", st)
		}
		got := warn.get()
		if len(got) != 1 || !strings.Contains(got[0], "names no block") || !strings.Contains(got[0], "own DataBlockId") {
			t.Fatalf("warnings after bad acks %q", got)
		}
		rc.Close()

		// A new connection reports again: status 500.
		rc2 := pipeClient(t, s)
		defer rc2.Close()
		rc2.mustConnect(id)
		blocks2 := rc2.pump()
		b = recv(t, blocks2) // the un-acked block, replayed
		rc2.c.Write(ack500(b.ID))
		// An ack of the wrong size closes the connection and is reported too.
		rc2.c.Write(append(protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 5), 0, 0, 0, 200, 0))
		synctest.Wait()
		got = warn.get()
		if len(got) != 3 || !strings.Contains(got[1], "status 500") || !strings.Contains(got[1], "only documented status is 200") ||
			!strings.Contains(got[2], "Size field is 5") {
			t.Fatalf("warnings %q", got)
		}
	})
}

// ack500 is an ack of block id with status 500.
func ack500(id uint16) []byte {
	return append(protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 4), byte(id>>8), byte(id), 0x01, 0xf4)
}
