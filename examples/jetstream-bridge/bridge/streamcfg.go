package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream defaults.
const (
	// DefaultStream is the stream name when none is given.
	DefaultStream = "RM_EVENTS"
	// DefaultSubjectPrefix is the first token of every subject.
	DefaultSubjectPrefix = "rm"
	// DefaultDuplicateWindow is how long JetStream remembers message ids.
	// It must cover the replay horizon: the longest time between an event
	// being stored and Remote Manager replaying its block, which is how
	// long a bridge may stay down (crash, deploy, host failure) plus the
	// push reconnect backoff (at most 60 s). A replay arriving later is
	// stored a second time. The server keeps every id of the window in
	// memory (about 100 bytes each): 1 h at 1 000 events/s is ~360 MB.
	DefaultDuplicateWindow = time.Hour
)

// StreamConfig returns the stream the bridge creates by default: subjects
// "<prefix>.>", file storage, limits retention with no limit (set MaxAge
// or MaxBytes for one), discarding the oldest messages at a limit,
// DefaultDuplicateWindow, one replica (use 3 on a cluster).
func StreamConfig(name, prefix string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Description: "Remote Manager monitor events, bridged by pushmon",
		Subjects:    []string{prefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Duplicates:  DefaultDuplicateWindow,
		Replicas:    1,
	}
}

// EnsureStream makes sure that the stream want describes exists and fits
// the bridge that publishes under prefix: it creates the stream when it is
// missing, and otherwise checks that it captures "<prefix>.>", that its
// duplicate window is at least want.Duplicates, and that it acknowledges
// publishes (not a mirror, not sealed, NoAck off). A stream that does not
// fit returns a *StreamMismatchError (ErrStreamMismatch), unless update is
// true: then the missing subject is added and the window raised, and
// nothing else is changed. Other settings of an existing stream (storage,
// replicas, limits) are left as they are.
//
// want is the stream created when it is missing (StreamConfig gives the
// defaults): its Subjects must capture "<prefix>.>", or EnsureStream
// returns ErrInvalidConfig and creates nothing. A want.Duplicates of 0
// accepts an existing stream's window whatever it is, and creates the
// stream with the server's default window. An invalid prefix
// or an empty want.Name also returns ErrInvalidConfig.
func EnsureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, prefix string, update bool) (jetstream.Stream, error) {
	return ensureStream(ctx, js, want, prefix, true, update)
}

// CheckStream is EnsureStream without the creation: a missing stream
// returns an error matching jetstream.ErrStreamNotFound, and want serves
// only for its Name and Duplicates. With update, a stream that exists is
// fixed as EnsureStream fixes it.
func CheckStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, prefix string, update bool) (jetstream.Stream, error) {
	return ensureStream(ctx, js, want, prefix, false, update)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, prefix string, create, update bool) (jetstream.Stream, error) {
	if err := ValidPrefix(prefix); err != nil {
		return nil, err
	}
	if want.Name == "" {
		return nil, fmt.Errorf("%w: empty stream name", ErrInvalidConfig)
	}
	s, err := js.Stream(ctx, want.Name)
	if create && errors.Is(err, jetstream.ErrStreamNotFound) {
		if !slices.ContainsFunc(want.Subjects, func(p string) bool { return covers(p, prefix) }) {
			return nil, fmt.Errorf("%w: the subjects %q of stream %q to create do not capture %q",
				ErrInvalidConfig, want.Subjects, want.Name, prefix+".>")
		}
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, want.Name) // another bridge created it just now
		} else if err != nil {
			return nil, fmt.Errorf("bridge: creating stream %q: %w", want.Name, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: looking up stream %q: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	var problems []string
	covered := slices.ContainsFunc(have.Subjects, func(p string) bool { return covers(p, prefix) })
	if !covered {
		problems = append(problems, fmt.Sprintf("its subjects %q do not capture %q", have.Subjects, prefix+".>"))
	}
	short := have.Duplicates < want.Duplicates
	if short {
		problems = append(problems, fmt.Sprintf("its duplicate window %v is shorter than %v", have.Duplicates, want.Duplicates))
	}
	if have.NoAck {
		problems = append(problems, "it does not acknowledge publishes (no_ack)")
	}
	if have.Sealed {
		problems = append(problems, "it is sealed")
	}
	if have.Mirror != nil {
		problems = append(problems, "it is a mirror, which takes no publishes")
	}
	if have.SubjectTransform != nil {
		problems = append(problems, "it transforms subjects")
	}
	if len(problems) == 0 {
		return s, nil
	}
	fixable := len(problems) == btoi(!covered)+btoi(short)
	if !update || !fixable {
		return nil, &StreamMismatchError{Stream: want.Name, Problems: problems}
	}
	if !covered {
		have.Subjects = append(have.Subjects, prefix+".>")
	}
	if short {
		have.Duplicates = want.Duplicates
	}
	s, err = js.UpdateStream(ctx, have)
	if err != nil {
		return nil, fmt.Errorf("bridge: updating stream %q: %w", want.Name, err)
	}
	return s, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// covers reports whether the stream subject pattern captures every subject
// "<prefix>.<one or more tokens>".
func covers(pattern, prefix string) bool {
	pt := strings.Split(pattern, ".")
	qt := strings.Split(prefix, ".")
	for i, p := range pt {
		if p == ">" {
			return i <= len(qt)
		}
		if i >= len(qt) {
			return false // a literal or '*' after the prefix leaves subjects out
		}
		if p != "*" && p != qt[i] {
			return false
		}
	}
	return false // no '>': a finite number of tokens
}
