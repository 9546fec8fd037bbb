// Package secret holds passwords, tokens and secret header values so that
// they cannot be printed by accident.
//
// A [String] redacts itself wherever it is formatted: in every fmt verb
// (%v, %+v, %#v, %s, %q, %x, %d …), in encoding/json and encoding's text
// form, and in log/slog. It keeps doing so when it sits in a field of a
// caller's own struct, exported or not: its only field is an
// unsafe.Pointer, which fmt prints as an address when it cannot call
// String's methods, and which reflection-based printers (go-cmp's Diff,
// spew, pretty printers) cannot follow either: a *string would be followed
// by those that read unexported fields, and printed. The text comes out
// only through [String.Reveal], which the library calls at the one place a
// secret must go on the wire.
package secret

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"unsafe"
	"weak"
)

// Redacted is what a non-empty String prints instead of its text.
const Redacted = "[REDACTED]"

// String is a secret text. The zero value is the empty secret.
//
// A String is an immutable value, safe for concurrent use and cheap to
// copy (copies share the text). Compare two Strings with [String.Equal].
// Strings that hold the same text at the same time share it, so that
// reflect.DeepEqual (and ==) tell them equal too. So a printout that shows
// the address (%v of a struct of yours holding a String in an unexported
// field) shows which Strings hold the same text, never the text.
type String struct {
	// p is the *string holding the text, nil for the empty secret. It is
	// an unsafe.Pointer, not a *string, so that no reflection-based
	// printer follows it: go-cmp's reporter, when two Strings differ
	// while their String methods agree, prints unexported fields by
	// reflection, and would print a *string's text.
	p unsafe.Pointer
}

// interned maps the SHA-256 digest of a text to the one *string holding
// it while some String does, so that equal texts share a pointer (as a
// *string's text, compared by reflect.DeepEqual, did). A text no String
// holds any more is dropped: the entry is weak, and removed when its
// string is collected.
var interned struct {
	sync.Mutex
	m map[[sha256.Size]byte]weak.Pointer[string]
}

// intern returns the *string holding s.
func intern(s string) *string {
	key := sha256.Sum256([]byte(s))
	interned.Lock()
	defer interned.Unlock()
	if w, ok := interned.m[key]; ok {
		if p := w.Value(); p != nil && *p == s {
			return p
		}
	}
	if interned.m == nil {
		interned.m = map[[sha256.Size]byte]weak.Pointer[string]{}
	}
	p := new(string)
	*p = strings.Clone(s)
	interned.m[key] = weak.Make(p)
	runtime.AddCleanup(p, func(key [sha256.Size]byte) {
		interned.Lock()
		defer interned.Unlock()
		if w, ok := interned.m[key]; ok && w.Value() == nil {
			delete(interned.m, key)
		}
	}, key)
	return p
}

// New returns a String holding s.
func New(s string) String {
	if s == "" {
		return String{}
	}
	return String{p: unsafe.Pointer(intern(s))}
}

// Reveal returns the secret text. Call it only where the text must leave
// the process (a request, a frame) — never to log or print it.
func (s String) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *(*string)(s.p)
}

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s.p == nil }

// Len returns the secret's length in bytes.
func (s String) Len() int { return len(s.Reveal()) }

// Equal reports whether s and t hold the same text, in time that depends
// on neither text (see [String.Matches]).
func (s String) Equal(t String) bool { return s.Matches(t.Reveal()) }

// Matches reports whether text is the secret's text, in time that depends
// on neither text, their lengths included: it compares the SHA-256
// digests of both in constant time. A direct constant-time comparison
// returns at once when the lengths differ, which tells a guesser the
// secret's length; use Matches to check credentials a client presents.
func (s String) Matches(text string) bool {
	a, b := sha256.Sum256([]byte(s.Reveal())), sha256.Sum256([]byte(text))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// redacted returns what s prints: "" when empty, Redacted otherwise, so
// that a missing secret can be told from a set one.
func (s String) redacted() string {
	if s.p == nil {
		return ""
	}
	return Redacted
}

// String returns Redacted, or "" for the empty secret.
func (s String) String() string { return s.redacted() }

// GoString returns Go syntax that does not hold the secret.
func (s String) GoString() string {
	if s.p == nil {
		return "secret.String{}"
	}
	return `secret.New("` + Redacted + `")`
}

// Format prints the redacted form for every verb, honouring width and
// flags for %s, %v and %q; %#v prints GoString.
func (s String) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, s.GoString())
	case verb == 'q':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 'q'), s.redacted())
	default:
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 's'), s.redacted())
	}
}

// MarshalText returns the redacted form. Encoding a String therefore loses
// the secret: configurations that must be written out with their secrets
// need to Reveal them on purpose.
func (s String) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }

// UnmarshalText sets the secret to text, so that a String can be read from
// a JSON or text configuration.
func (s *String) UnmarshalText(text []byte) error {
	*s = New(string(text))
	return nil
}

// LogValue implements [slog.LogValuer] with the secret redacted.
func (s String) LogValue() slog.Value { return slog.StringValue(s.redacted()) }
