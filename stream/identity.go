package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// maxPlainID is the longest DataPoint id that Identity uses as it is;
// longer ones (and ids with other characters) are hashed.
const maxPlainID = 128

// Identity returns a stable name for the event: the same for the event and
// every replay of it, in every process and on every run, and different for
// different events. It names the same fields as the subscription's dedup
// window does (which uses a faster in-process hash of them), in a form
// fit for external de-duplication (such as a message id in a log):
//
//   - a DataPoint with an id: "dp-" followed by the id (UUIDs in practice),
//     or by a hash of it when the id is longer than 128 bytes or holds
//     characters other than ASCII letters, digits and "-_.:";
//   - any other event (raw documents included): "ev-" followed by 32 hex
//     digits of the SHA-256 of topic, operation, timestamp and body.
//
// The Replay flag and the monitor id are not part of it, so a replay, or
// the same event delivered by two monitors, has the same identity. The
// result is printable ASCII of at most 131 bytes. Identity does not
// modify the event and is safe for concurrent use.
func (e Event) Identity() string {
	if e.Resource == "DataPoint" {
		if id := dataPointID(e.Body); len(id) > 0 {
			// A JSON string token without escapes is the id itself; an
			// XML element's text is too.
			if len(id) >= 2 && id[0] == '"' && id[len(id)-1] == '"' && bytes.IndexByte(id, '\\') < 0 {
				id = id[1 : len(id)-1]
			}
			if len(id) > 0 && len(id) <= maxPlainID && plainID(id) {
				return "dp-" + string(id)
			}
			sum := sha256.Sum256(id)
			return "dp-" + hex.EncodeToString(sum[:16])
		}
	}
	h := sha256.New()
	h.Write([]byte(e.Topic))
	h.Write([]byte{0})
	h.Write([]byte(e.Operation))
	h.Write([]byte{0})
	if !e.Timestamp.IsZero() {
		h.Write([]byte(e.Timestamp.UTC().Format(time.RFC3339Nano)))
	}
	h.Write([]byte{0})
	h.Write(e.Body)
	var sum [sha256.Size]byte
	return "ev-" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// plainID reports whether id holds only ASCII letters, digits and "-_.:".
func plainID(id []byte) bool {
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
