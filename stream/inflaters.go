package stream

import (
	"sync"

	"github.com/pushmon/pushmon/protocol"
)

// inflaters holds Inflaters with the default output limit between blocks.
// An Inflater keeps its Huffman tables in itself (about 9 KiB) and its
// output buffer; pooling them means an idle session holds none, and a busy
// one reuses one from block to block (the pool is per P).
var inflaters = sync.Pool{New: func() any { return protocol.NewInflater(0) }}

// idleEvents is the largest event scratch slice an idle session keeps.
const idleEvents = 8

// takeInflater returns an Inflater for one block: a pooled one, or the
// session's own when Config.MaxDecompressed is not the default.
func (ss *session) takeInflater() *protocol.Inflater {
	if limit := ss.sub.cfg.MaxDecompressed; limit != 0 {
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
