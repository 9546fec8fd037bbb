package pushserver

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/pushmon/pushmon/protocol"
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

// eventSize is the size of one event as AppendEvent renders it (the
// description is padded to make a single-event frame SingleFrameSize
// bytes).
var eventSize, padding = func() (int, int) {
	base := len(appendEvent(nil, 0, 0))
	doc := len(`{"Document":{"Msg":}}`) + base
	pad := SingleFrameSize - protocol.HeaderSize - protocol.PublishHeaderSize - doc
	if pad < 0 {
		panic("pushserver: event template larger than a single frame")
	}
	return base + pad, pad
}()

// AppendEvent appends one Msg object of a DataPoint INSERTION whose id ends
// with seq in hexadecimal. The value, timestamps and stream vary with seq
// as real data does; only the id differs between events of a patched
// frame set.
func AppendEvent(dst []byte, seq uint64) []byte { return appendEvent(dst, seq, padding) }

func appendEvent(dst []byte, seq uint64, pad int) []byte {
	dev := seq % 50
	ms := 1714564800000 + int64(seq)*37
	dst = append(dst, `{"topic":"1234/DataPoint/dev`...)
	dst = appendHex(dst, dev, 2)
	dst = append(dst, `/temp","operation":"INSERTION","timestamp":"`...)
	dst = appendISO(dst, ms)
	dst = append(dst, `","DataPoint":{"id":"`+idStem...)
	dst = appendHex(dst, seq, idDigits)
	dst = append(dst, `","cstId":1234,"streamId":"dev`...)
	dst = appendHex(dst, dev, 2)
	dst = append(dst, `/temp","data":`...)
	dst = strconv.AppendFloat(dst, 20+float64(seq%1000)/100, 'f', 2, 64)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, ms, 10)
	dst = append(dst, `,"quality":0,"description":"`...)
	dst = append(dst, bytes.Repeat([]byte{'.'}, pad)...)
	return append(dst, `"}}`...)
}

// appendHex appends v as exactly n lower-case hex digits.
func appendHex(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, "0123456789abcdef"[v>>(4*uint(i))&15])
	}
	return dst
}

// appendISO appends epoch milliseconds ms as 2024-05-01T12:00:00.123Z
// (days beyond the 1st are not needed: seq stays far below a day).
func appendISO(dst []byte, ms int64) []byte {
	s := ms / 1000 % 86400
	two := func(dst []byte, v int64) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
	dst = append(dst, "2024-05-01T"...)
	dst = two(dst, s/3600)
	dst = append(dst, ':')
	dst = two(dst, s/60%60)
	dst = append(dst, ':')
	dst = two(dst, s%60)
	dst = append(dst, '.')
	dst = append(dst, byte('0'+ms%1000/100))
	dst = two(dst, ms%100)
	return append(dst, 'Z')
}

// AppendDocument appends the event document of n events numbered first,
// first+1, …: {"Document":{"Msg":M}} with M an object for one event and an
// array for several.
func AppendDocument(dst []byte, first uint64, n int) []byte {
	dst = append(dst, `{"Document":{"Msg":`...)
	if n != 1 {
		dst = append(dst, '[')
	}
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendEvent(dst, first+uint64(i))
	}
	if n != 1 {
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
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
		frameLen := protocol.HeaderSize + protocol.PublishHeaderSize + len(AppendDocument(nil, 0, d.Events))
		frames = max(1, (64<<10+frameLen-1)/frameLen)
	}
	var doc []byte
	var zbuf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zbuf, zlib.DefaultCompression)
	for i := range frames {
		first := uint64(i * d.Events)
		doc = AppendDocument(doc[:0], first, d.Events)
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
		var err error
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

// idStem is the fixed start of every event id; the counter follows it.
const idStem = "0c9f6a9e-07d4-4f4e-9d2c-"

var idPrefix = []byte(`"id":"` + idStem)

// EventSize is the size of one rendered event (a single-event frame is
// SingleFrameSize bytes).
func EventSize() int { return eventSize }
