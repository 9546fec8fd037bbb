package pushserver

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// SingleFrameSize is the size of a whole single-event frame (header,
// sub-header and document): the "300 B frame" of the performance goals.
const SingleFrameSize = 300

// idDigits is the width of the hexadecimal event counter at the end of
// every DataPoint id; the server rewrites it in place so that every event
// it streams is distinct (the client's dedup sees no replays).
const idDigits = 12

// distinctEvents is how many distinct events a compressed frame set holds
// before it repeats: more than the client's default dedup window
// (100 000), so repeats are never mistaken for replays.
const distinctEvents = 102_400

// customerID is the cstId of every benchmark event, as the simulator's.
const customerID = streamtest.DefaultCustomerID

// eventSize is the size of one rendered event and padding the length of
// the description that makes a single-event frame SingleFrameSize bytes.
// Every event numbered below 2^32 renders to the same size: all its
// variable parts then have a fixed width.
var eventSize, padding = func() (int, int) {
	doc, err := appendDocument(nil, 0, 1, 0)
	if err != nil {
		panic(err)
	}
	pad := SingleFrameSize - protocol.HeaderSize - protocol.PublishHeaderSize - len(doc)
	if pad < 0 {
		panic("pushserver: event template larger than a single frame")
	}
	return len(doc) - len(`{"Document":{"Msg":}}`) + pad, pad
}()

// dataPoint is the body of every benchmark event, in the order it is
// rendered.
type dataPoint struct {
	ID          string      `json:"id"`
	CstID       int         `json:"cstId"`
	StreamID    string      `json:"streamId"`
	Data        json.Number `json:"data"`
	Timestamp   int64       `json:"timestamp"`
	Quality     int         `json:"quality"`
	Description string      `json:"description"`
}

// Event returns the DataPoint INSERTION numbered seq, whose id ends with
// seq as idDigits hexadecimal digits. The value, timestamps and stream
// vary with seq as real data does; only the id differs between events of
// a patched frame set. It is the only event shape of the benchmarks:
// frame sets render it with streamtest.AppendDocument, and the idle
// scenario's simulator publishes it.
func Event(seq uint64) streamtest.Event { return event(seq, padding) }

func event(seq uint64, pad int) streamtest.Event {
	dev := fmt.Sprintf("dev%02x", seq%50)
	ms := baseMS + int64(seq)*37
	return streamtest.Event{
		Topic:     "DataPoint/" + dev + "/temp",
		Operation: "INSERTION",
		Timestamp: time.UnixMilli(ms),
		Body: dataPoint{
			ID:          fmt.Sprintf("%s%0*x", idStem, idDigits, seq&(1<<(4*idDigits)-1)),
			CstID:       customerID,
			StreamID:    dev + "/temp",
			Data:        json.Number(strconv.FormatFloat(20+float64(seq%1000)/100, 'f', 2, 64)),
			Timestamp:   ms,
			Description: strings.Repeat(".", pad),
		},
	}
}

// baseMS is the timestamp of event 0: 2024-05-01T12:00:00Z.
const baseMS = 1714564800000

// AppendDocument appends the JSON event document of n events numbered
// first, first+1, …, as the simulator renders it.
func AppendDocument(dst []byte, first uint64, n int) ([]byte, error) {
	return appendDocument(dst, first, n, padding)
}

func appendDocument(dst []byte, first uint64, n, pad int) ([]byte, error) {
	evs := make([]streamtest.Event, n)
	for i := range evs {
		evs[i] = event(first+uint64(i), pad)
	}
	return streamtest.AppendDocument(dst, protocol.FormatJSON, customerID, evs...)
}

// FrameSet is a run of pre-built PublishMessage frames that a server writes
// again and again, patching DataBlockIds (and, uncompressed, event ids) as
// it goes.
type FrameSet struct {
	Dataset Dataset
	Buf     []byte // the frames, back to back
	Starts  []int  // offset of each frame in Buf, plus len(Buf) at the end
	// IDs holds, for uncompressed sets, the offsets in Buf of every event's
	// hex counter, frame after frame (Dataset.Events per frame).
	IDs []int
	// DocBytes is the document size of each frame (inflated, for zlib).
	DocBytes []int
}

// Frames returns the number of frames in the set.
func (fs *FrameSet) Frames() int { return len(fs.Starts) - 1 }

// Clone returns a copy whose buffer can be patched independently.
func (fs *FrameSet) Clone() *FrameSet {
	c := *fs
	c.Buf = bytes.Clone(fs.Buf)
	return &c
}

// Patch gives frame i the DataBlockId id and, uncompressed, numbers its
// events from seq on. It returns the frame.
func (fs *FrameSet) Patch(i int, id uint16, seq uint64) []byte {
	f := fs.Buf[fs.Starts[i]:fs.Starts[i+1]]
	binary.BigEndian.PutUint16(f[protocol.HeaderSize:], id)
	if !fs.Dataset.Zlib {
		n := fs.Dataset.Events
		for k, off := range fs.IDs[i*n : (i+1)*n] {
			appendHex(fs.Buf[off:off], seq+uint64(k), idDigits)
		}
	}
	return f
}

// BuildFrameSet builds the frames of a dataset. Uncompressed sets hold
// enough copies of one frame for a 64 KiB write; compressed sets hold
// distinct frames covering distinctEvents events.
func BuildFrameSet(d Dataset) (*FrameSet, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	fs := &FrameSet{Dataset: d}
	frames := 1
	if d.Zlib {
		frames = (distinctEvents + d.Events - 1) / d.Events
	} else {
		doc, err := AppendDocument(nil, 0, d.Events)
		if err != nil {
			return nil, err
		}
		frameLen := protocol.HeaderSize + protocol.PublishHeaderSize + len(doc)
		frames = max(1, (64<<10+frameLen-1)/frameLen)
	}
	var doc []byte
	var zbuf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zbuf, zlib.DefaultCompression)
	for i := range frames {
		first := uint64(i * d.Events)
		var err error
		if doc, err = AppendDocument(doc[:0], first, d.Events); err != nil {
			return nil, err
		}
		m := protocol.PublishMessage{Count: uint16(d.Events), Format: protocol.FormatJSON, Payload: doc}
		if d.Zlib {
			zbuf.Reset()
			zw.Reset(&zbuf)
			zw.Write(doc)
			zw.Close()
			m.Compression = protocol.CompressionZlib
			m.Payload = zbuf.Bytes()
		}
		start := len(fs.Buf)
		fs.Starts = append(fs.Starts, start)
		if fs.Buf, err = protocol.AppendPublishMessage(fs.Buf, m); err != nil {
			return nil, err
		}
		fs.DocBytes = append(fs.DocBytes, len(doc))
		if !d.Zlib {
			// Find each event's counter: after the fixed id prefix.
			body := fs.Buf[start:]
			at := 0
			for range d.Events {
				j := bytes.Index(body[at:], idPrefix)
				if j < 0 {
					return nil, fmt.Errorf("pushserver: id not found in frame %d", i)
				}
				at += j + len(idPrefix)
				fs.IDs = append(fs.IDs, start+at)
			}
		}
	}
	fs.Starts = append(fs.Starts, len(fs.Buf))
	return fs, nil
}

// appendHex appends v as exactly n lower-case hex digits.
func appendHex(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, "0123456789abcdef"[v>>(4*uint(i))&15])
	}
	return dst
}

// idStem is the fixed start of every event id; the counter follows it.
const idStem = "0c9f6a9e-07d4-4f4e-9d2c-"

var idPrefix = []byte(`"id":"` + idStem)

// EventSize is the size of one rendered event (a single-event frame is
// SingleFrameSize bytes).
func EventSize() int { return eventSize }
