package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream"
)

// TestSimulatorBoundsRecordedEvents: a persistent monitor records every
// event it matches, for replay and for the history API, connected or not.
// -max-queued bounds both per monitor, so that a simulator left running
// with an old client's persistent monitor (never deleted, as the Python
// library's README advises) does not grow by gigabytes: the history keeps
// at most the limit plus an eighth, and a client connecting after many
// more events were published gets at most the limit replayed.
func TestSimulatorBoundsRecordedEvents(t *testing.T) {
	const limit = 40
	bin := build(t, t.TempDir())
	s := startSim(t, bin, 2, "-http", "127.0.0.1:0", "-push", "127.0.0.1:0", "-push-tls", "-",
		"-rate", "2000", "-max-queued", strconv.Itoa(limit))
	if s.addrs["rest"] == "" || s.addrs["push"] == "" {
		t.Fatalf("listeners %v; stderr:\n%s", s.addrs, s.logs(t))
	}
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()

	// Created as the old Python library does: a legacy XML POST.
	body := `<Monitor><monTopic>DataPoint,DeviceCore,FileData</monTopic><monTransportType>tcp</monTransportType>` +
		`<monFormatType>json</monFormatType><monBatchSize>1</monBatchSize><monBatchDuration>0</monBatchDuration>` +
		`<monCompression>none</monCompression><monAckOption>explicit</monAckOption>` +
		`<monAutoReplayOnConnect>true</monAutoReplayOnConnect></Monitor>`
	code, loc := rest(ctx, t, "POST", s.addrs["rest"]+"/ws/Monitor", body)
	_, idText, _ := strings.Cut(loc, "<location>Monitor/")
	idText, _, _ = strings.Cut(idText, "</location>")
	id, err := strconv.ParseUint(idText, 10, 32)
	if code != http.StatusCreated || err != nil {
		t.Fatalf("create: %d %q", code, loc)
	}

	// Wait, with nobody connected, until far more events than the limit
	// were recorded (a record's id is its arrival number); the history
	// never holds more than the limit and an eighth.
	for newest := 0; newest < 5*limit; {
		if ctx.Err() != nil {
			t.Fatalf("%d events recorded before the deadline", newest)
		}
		var page struct {
			List []struct{ ID string }
		}
		code, text := rest(ctx, t, "GET", s.addrs["rest"]+"/ws/v1/monitors/history/"+idText+"?size=1000", "")
		if err := json.Unmarshal([]byte(text), &page); code != http.StatusOK || err != nil {
			t.Fatalf("history: %d %v %.200s", code, err, text)
		}
		if n := len(page.List); n > limit+limit/8 {
			t.Fatalf("the history holds %d records, more than -max-queued %d and an eighth", n, limit)
		}
		if n := len(page.List); n > 0 {
			newest, _ = strconv.Atoi(page.List[n-1].ID)
		}
		time.Sleep(10 * time.Millisecond) // poll; not a time budget
	}

	// A client connecting now is replayed at most the limit.
	c, rd := pythonClient(t, s.addrs["push"], uint32(id))
	defer c.Close()
	replayed := 0
	for {
		f, err := rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := stream.ParseDocument(m.Payload, stream.FormatJSON)
		if err != nil || len(evs) != 1 {
			t.Fatalf("block %d: %d events, %v", m.DataBlockID, len(evs), err)
		}
		if !evs[0].Replay {
			break // the replay is over
		}
		replayed++
	}
	if replayed == 0 || replayed > limit {
		t.Fatalf("%d events replayed, want 1…%d (-max-queued)", replayed, limit)
	}
}

// rest makes one REST call with the simulator's default credentials and
// returns the status and the body.
func rest(ctx context.Context, t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("user", "password")
	req.Close = true // no idle connection left behind for goleak
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMaxQueuedOutOfRangeExit2: a -max-queued below 1 is bad usage.
func TestMaxQueuedOutOfRangeExit2(t *testing.T) {
	bin := build(t, t.TempDir())
	for _, v := range []string{"0", "-5"} {
		ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
		cmd := exec.CommandContext(ctx, bin, "-http", "127.0.0.1:0", "-push", "-", "-push-tls", "-", "-max-queued", v)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "-max-queued must be at least 1") {
			t.Errorf("-max-queued %s: %v, stderr:\n%s", v, err, stderr.String())
		}
	}
}
