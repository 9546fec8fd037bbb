package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureStream(t *testing.T) {
	ns := startNATS(t)
	js := newJS(t, connect(t, ns.url()))
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	want := StreamConfig("EV", "rm")

	// Missing: created with the defaults.
	s, err := EnsureStream(ctx, js, want, "rm", false)
	if err != nil {
		t.Fatal(err)
	}
	c := s.CachedInfo().Config
	if c.Storage != jetstream.FileStorage || c.Duplicates != DefaultDuplicateWindow || len(c.Subjects) != 1 || c.Subjects[0] != "rm.>" || c.Replicas != 1 {
		t.Errorf("created %+v", c)
	}
	// Present and fitting: accepted as it is.
	if _, err := EnsureStream(ctx, js, want, "rm", false); err != nil {
		t.Errorf("second EnsureStream: %v", err)
	}

	// A short window and other subjects: a mismatch, fixed on request.
	other := jetstream.StreamConfig{Name: "OLD", Subjects: []string{"other.>"}, Duplicates: time.Minute, Storage: jetstream.MemoryStorage}
	if _, err := js.CreateStream(ctx, other); err != nil {
		t.Fatal(err)
	}
	want = StreamConfig("OLD", "acme")
	_, err = EnsureStream(ctx, js, want, "acme", false)
	var me *StreamMismatchError
	if !errors.Is(err, ErrStreamMismatch) || !errors.As(err, &me) || len(me.Problems) != 2 ||
		!strings.Contains(err.Error(), "duplicate window") || !strings.Contains(err.Error(), `"acme.>"`) {
		t.Fatalf("EnsureStream on a misfit: %v", err)
	}
	s, err = EnsureStream(ctx, js, want, "acme", true)
	if err != nil {
		t.Fatalf("EnsureStream with update: %v", err)
	}
	c = s.CachedInfo().Config
	if c.Duplicates != DefaultDuplicateWindow || strings.Join(c.Subjects, ",") != "other.>,acme.>" || c.Storage != jetstream.MemoryStorage {
		t.Errorf("updated %+v: want the window raised, acme.> added, storage kept", c)
	}

	// What an update cannot fix stays an error.
	noAck := jetstream.StreamConfig{Name: "NOACK", Subjects: []string{"na.>"}, NoAck: true, Duplicates: 2 * time.Hour}
	if _, err := js.CreateStream(ctx, noAck); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureStream(ctx, js, StreamConfig("NOACK", "na"), "na", true); !errors.Is(err, ErrStreamMismatch) || !strings.Contains(err.Error(), "no_ack") {
		t.Errorf("no-ack stream: %v", err)
	}

	if _, err := EnsureStream(ctx, js, want, "bad..prefix", false); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad prefix: %v", err)
	}
	if _, err := EnsureStream(ctx, js, jetstream.StreamConfig{}, "rm", false); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no name: %v", err)
	}
	// Subjects to create that leave the prefix out: nothing is created.
	if _, err := EnsureStream(ctx, js, StreamConfig("MISFIT", "rm"), "acme", false); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("subjects without the prefix: %v", err)
	}
	if _, err := js.Stream(ctx, "MISFIT"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("a stream was created for subjects without the prefix: %v", err)
	}

	// CheckStream verifies and never creates.
	if _, err := CheckStream(ctx, js, StreamConfig("EV", "rm"), "rm", false); err != nil {
		t.Errorf("CheckStream of a fitting stream: %v", err)
	}
	if _, err := CheckStream(ctx, js, StreamConfig("NEW", "rm"), "rm", true); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("CheckStream of a missing stream: %v", err)
	}
	if _, err := js.Stream(ctx, "NEW"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("CheckStream created a stream: %v", err)
	}
}

func TestCovers(t *testing.T) {
	cases := []struct {
		pattern, prefix string
		want            bool
	}{
		{">", "rm", true},
		{"rm.>", "rm", true},
		{"*.>", "rm", true},
		{"a.>", "a.b", true},
		{"a.*.>", "a.b", true},
		{"a.b.>", "a.b", true},
		{"rm", "rm", false},
		{"rm.*", "rm", false},
		{"rm.x.>", "rm", false},
		{"rm.*.>", "rm", false}, // leaves out rm.<one token>
		{"other.>", "rm", false},
		{"a.c.>", "a.b", false},
	}
	for _, c := range cases {
		if got := covers(c.pattern, c.prefix); got != c.want {
			t.Errorf("covers(%q, %q) = %v", c.pattern, c.prefix, got)
		}
	}
}
