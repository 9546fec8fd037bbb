package envelope

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"time"
	"unsafe"
)

// Fields are what makes two events different, and so what an identity
// covers: topic, operation, timestamp, resource name, resource body, and
// for an invalid event what is wrong with it (see errText). The Replay
// flag, the monitor, the format and the event's place in its document are
// not part of it.
type Fields struct {
	Topic     string
	Operation string
	Timestamp time.Time
	Resource  string
	Body      []byte
	Err       error
}

// The canonical form of Fields, the one definition both ID and Hash64
// hash: each field as its length (unsigned varint) and its bytes, in the
// order topic, operation, timestamp, resource, body, then the error's text
// (errText) when Err is set. The timestamp is 12 bytes, its Unix seconds
// (big-endian int64) and nanoseconds (big-endian uint32), or nothing for
// the zero time, so two spellings of one instant are one timestamp. Body
// is taken as sent: no whitespace is normalised (a replay is the stored
// event sent again, byte for byte; and a re-serialisation that changed
// whitespace could as well change key order or number forms, which no
// normalisation short of decoding would undo).
// ID hashes it as it is; Hash64 hashes the body on its own and then the
// canonical form with the body's hash in place of the body's bytes (equal
// forms give equal hashes either way). TestIdentityDistinguishes checks
// that the two agree.

// timestamp returns the canonical bytes of a timestamp.
func timestamp(t time.Time, buf *[12]byte) []byte {
	if t.IsZero() {
		return nil
	}
	binary.BigEndian.PutUint64(buf[:8], uint64(t.Unix()))
	binary.BigEndian.PutUint32(buf[8:], uint32(t.Nanosecond()))
	return buf[:]
}

// ID returns the event's identity, stable across processes and runs:
// "ev-" followed by 32 lower-case hex digits, the first 16 bytes of the
// SHA-256 of the canonical form. It is "" for an event without a topic
// (a raw document, a Msg so broken that no topic was read): such events
// have no identity.
func ID(f *Fields) string {
	if f.Topic == "" {
		return ""
	}
	h := sha256.New()
	var lb [binary.MaxVarintLen64]byte
	var tb [12]byte
	for _, b := range [...][]byte{sbytes(f.Topic), sbytes(f.Operation), timestamp(f.Timestamp, &tb), sbytes(f.Resource), f.Body} {
		h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(b)))])
		h.Write(b)
	}
	if f.Err != nil {
		e := errText(f.Err)
		h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(e)))])
		h.Write(sbytes(e))
	}
	var sum [sha256.Size]byte
	var out [3 + 32]byte
	copy(out[:], "ev-")
	hex.Encode(out[3:], h.Sum(sum[:0])[:16])
	return string(out[:])
}

// Hash64 returns a 64-bit hash of the same canonical form under seed, for
// an in-process window: equal for events with equal IDs, and never 0 for
// an event with a topic; 0 for an event without one. It hashes the body
// on its own first and then the other fields with the body's hash in
// place of the body (two one-shot hashes cost less than one streamed
// through many small writes); it allocates nothing unless topic,
// operation and resource together exceed about 200 bytes.
func Hash64(seed maphash.Seed, f *Fields) uint64 {
	if f.Topic == "" {
		return 0
	}
	var buf [256]byte
	var tb [12]byte
	b := buf[:0]
	for _, s := range [...]string{f.Topic, f.Operation} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	ts := timestamp(f.Timestamp, &tb)
	b = binary.AppendUvarint(b, uint64(len(ts)))
	b = append(b, ts...)
	b = binary.AppendUvarint(b, uint64(len(f.Resource)))
	b = append(b, f.Resource...)
	b = binary.AppendUvarint(b, uint64(len(f.Body)))
	b = binary.LittleEndian.AppendUint64(b, maphash.Bytes(seed, f.Body))
	if f.Err != nil {
		e := errText(f.Err)
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	if k := maphash.Bytes(seed, b); k != 0 {
		return k
	}
	return 1
}

// sbytes returns s's bytes without copying; the caller must not modify
// them.
func sbytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// errText is the text of an invalid event's error in its identity: for an
// *EventError its Field and Reason, without the Index and Offset that place
// it in its document, which a replay of the event (another document, the
// replay flag added) changes; for another error its Error text.
func errText(err error) string {
	if ee, ok := errors.AsType[*EventError](err); ok {
		return ee.Field + ": " + ee.Reason
	}
	return err.Error()
}
