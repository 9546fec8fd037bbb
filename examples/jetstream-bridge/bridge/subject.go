package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/pushmon/pushmon/stream"
)

// MaxSubjectLen is the longest subject Subject returns. Longer topics keep
// their customer and resource tokens (when these fit) and have the rest
// replaced by a hash token, so that no topic can make a publish exceed the
// server's control line limit (4 KiB by default).
const MaxSubjectLen = 512

// RawToken is the token after the prefix of the subjects of raw documents
// (template output, or documents that are not a Document/Msg envelope):
// "<prefix>._raw.<monitor id>".
const RawToken = "_raw"

// Subject returns the subject an event is published on: the prefix, then
// one token per segment of the event's topic, so that
// "1234/DataPoint/dev1/temp" becomes "rm.1234.DataPoint.dev1.temp" with
// prefix "rm". Consumers can then filter by customer, resource, device or
// stream with NATS wildcards ("rm.*.DataPoint.dev1.>").
//
// Segments are made safe as tokens by percent-encoding (upper-case hex)
// every byte that is not printable ASCII, a space, '.', '*', '>' and '%';
// an empty segment becomes the lone token "%". The mapping is one-to-one,
// and url.PathUnescape of a token gives the segment back. A subject that
// would exceed MaxSubjectLen keeps the prefix, customer and resource
// tokens and ends in one token "%~" followed by 32 hex digits of the
// SHA-256 of the whole topic; when even the customer and resource tokens
// do not fit, the subject is "<prefix>.%~<hash>" alone. Filters on the
// device or stream tokens (such as "rm.*.DataPoint.dev1.>") miss these
// hashed subjects, and a filter on the resource ("rm.*.DataPoint.>") misses
// the last form: the Rm-Topic header keeps the whole topic. Raw documents
// go to "<prefix>._raw.<monitor id>".
//
// prefix must be a valid literal subject (see ValidPrefix); Subject does
// not check it. Subject is safe for concurrent use.
func Subject(prefix string, ev *stream.Event) string {
	if ev.Raw {
		return prefix + "." + RawToken + "." + strconv.FormatUint(uint64(ev.MonitorID), 10)
	}
	var b strings.Builder
	b.Grow(len(prefix) + 1 + len(ev.Topic) + 8)
	b.WriteString(prefix)
	rest := ev.Topic
	kept := 0 // bytes of b after the customer and resource tokens
	for i := 0; ; i++ {
		seg, tail, more := strings.Cut(rest, "/")
		b.WriteByte('.')
		appendToken(&b, seg)
		if i == 1 {
			kept = b.Len()
		}
		if !more {
			break
		}
		rest = tail
	}
	if b.Len() <= MaxSubjectLen {
		return b.String()
	}
	sum := sha256.Sum256([]byte(ev.Topic))
	hash := "%~" + hex.EncodeToString(sum[:16])
	if kept > 0 && kept+1+len(hash) <= MaxSubjectLen {
		return b.String()[:kept] + "." + hash
	}
	return prefix + "." + hash
}

// unsafeByte marks the bytes a token percent-encodes.
var unsafeByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c <= ' ' || c >= 0x7f || c == '.' || c == '*' || c == '>' || c == '%'
	}
	return t
}()

// appendToken writes seg as a subject token.
func appendToken(b *strings.Builder, seg string) {
	if seg == "" {
		b.WriteByte('%')
		return
	}
	const hexDigits = "0123456789ABCDEF"
	start := 0 // of the run of safe bytes not yet written
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !unsafeByte[c] {
			continue
		}
		b.WriteString(seg[start:i])
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
		start = i + 1
	}
	b.WriteString(seg[start:])
}

// ValidPrefix reports whether prefix can start the bridge's subjects: one
// or more literal tokens of printable ASCII separated by dots, without
// wildcards, spaces or empty tokens, and not starting with "$" (reserved
// for the system's subjects, such as "$JS.API").
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: empty subject prefix", ErrInvalidConfig)
	}
	if prefix[0] == '$' {
		return fmt.Errorf("%w: subject prefix %q starts with '$', which NATS reserves", ErrInvalidConfig, prefix)
	}
	if len(prefix) > MaxSubjectLen/2 {
		return fmt.Errorf("%w: subject prefix is %d bytes, at most %d", ErrInvalidConfig, len(prefix), MaxSubjectLen/2)
	}
	for _, tok := range strings.Split(prefix, ".") {
		if tok == "" {
			return fmt.Errorf("%w: subject prefix %q has an empty token", ErrInvalidConfig, prefix)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				return fmt.Errorf("%w: subject prefix %q holds %q; use literal printable ASCII tokens", ErrInvalidConfig, prefix, c)
			}
		}
	}
	return nil
}
