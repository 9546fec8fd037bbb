package stream

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/pushmon/pushmon/protocol"
)

// inflaters holds Inflaters with the default output limit between blocks.
// An Inflater keeps its decompressor (window and tables, about 40 KiB) and its
// output buffer; pooling them means an idle session holds none, and a busy
// one reuses one from block to block (the pool is per P).
var inflaters = sync.Pool{New: func() any { return protocol.NewInflater(0) }}

// pooled reports whether Inflaters with this output limit come from the
// pool: those with the default limit (0 stands for it).
func pooled(limit int) bool { return limit == 0 || limit == protocol.DefaultMaxDecompressed }

// takeInflater returns an Inflater for one block: a pooled one, or the
// session's own when Config.MaxDecompressed is not the default.
func (ss *session) takeInflater() *protocol.Inflater {
	if limit := ss.sub.cfg.MaxDecompressed; !pooled(limit) {
		if ss.inf == nil {
			ss.inf = protocol.NewInflater(limit)
		}
		return ss.inf
	}
	return inflaters.Get().(*protocol.Inflater)
}

// putInflater gives back an Inflater from takeInflater once its output is
// no longer used. nil is ignored.
func (ss *session) putInflater(f *protocol.Inflater) {
	if f != nil && f != ss.inf {
		inflaters.Put(f)
	}
}

// inflateOwned inflates an HTTP body in zlib, with output limit limit,
// into a new slice the caller owns, through a pooled Inflater when the
// limit is the default. Bytes after the end of the zlib stream are an error
// (errTrailingData): they would be lost without a trace.
func inflateOwned(payload []byte, limit int) ([]byte, error) {
	var f *protocol.Inflater
	if pooled(limit) {
		f = inflaters.Get().(*protocol.Inflater)
		defer inflaters.Put(f)
	} else {
		f = protocol.NewInflater(limit)
	}
	out, err := f.Inflate(payload)
	if err == nil && f.Trailing() > 0 {
		return nil, errTrailingData
	}
	return bytes.Clone(out), err
}

// errTrailingData: a zlib body goes on after the end of its stream (a
// second stream, or garbage). It is a protocol.ErrCorruptPayload.
var errTrailingData = fmt.Errorf("%w: data after the end of the zlib stream", protocol.ErrCorruptPayload)
