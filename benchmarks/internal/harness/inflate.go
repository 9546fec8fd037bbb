package harness

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"runtime/metrics"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
	"github.com/pushmon/pushmon/protocol"
)

// InflateResult is the speed of one way of inflating the same zlib
// document again and again.
type InflateResult struct {
	Name        string  `json:"name"`
	Events      int     `json:"events"`
	InBytes     int     `json:"in_bytes"`
	OutBytes    int     `json:"out_bytes"`
	NsPerOp     float64 `json:"ns_per_op"`
	GBPerSec    float64 `json:"gb_per_sec"` // inflated bytes (10^9) per second
	AllocsPerOp float64 `json:"allocs_per_op"`
}

// Inflate measures protocol.Inflater (the library's, reused per session)
// and compress/zlib at its best (one reader, Reset per document, output
// into a reused buffer) on documents of events DataPoints, for dur each.
func Inflate(events int, dur time.Duration) ([]InflateResult, error) {
	doc, err := pushserver.AppendDocument(nil, 0, events)
	if err != nil {
		return nil, err
	}
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write(doc)
	zw.Close()
	compressed := zb.Bytes()

	inf := protocol.NewInflater(0)
	var out bytes.Buffer
	src := bytes.NewReader(compressed)
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, err
	}
	ways := []struct {
		name string
		op   func() (int, error)
	}{
		{"protocol.Inflater", func() (int, error) {
			b, err := inf.Inflate(compressed)
			return len(b), err
		}},
		{"compress/zlib+Reset", func() (int, error) {
			src.Reset(compressed)
			if err := zr.(zlib.Resetter).Reset(src, nil); err != nil {
				return 0, err
			}
			out.Reset()
			n, err := io.Copy(&out, zr)
			return int(n), err
		}},
	}
	var res []InflateResult
	for _, w := range ways {
		if n, err := w.op(); err != nil || n != len(doc) {
			return nil, fmt.Errorf("%s: %d bytes, %v", w.name, n, err)
		}
		ms := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
		metrics.Read(ms)
		a0 := ms[0].Value.Uint64()
		start := time.Now()
		ops := 0
		for time.Since(start) < dur {
			for range 16 {
				if _, err := w.op(); err != nil {
					return nil, err
				}
			}
			ops += 16
		}
		el := time.Since(start)
		metrics.Read(ms)
		res = append(res, InflateResult{
			Name: w.name, Events: events, InBytes: len(compressed), OutBytes: len(doc),
			NsPerOp:     float64(el.Nanoseconds()) / float64(ops),
			GBPerSec:    float64(len(doc)) * float64(ops) / el.Seconds() / 1e9,
			AllocsPerOp: float64(ms[0].Value.Uint64()-a0) / float64(ops),
		})
	}
	return res, nil
}
