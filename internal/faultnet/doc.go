// Package faultnet cuts a client's connection at an exact byte, for
// reliability tests: what a server does wrong (stall, trickle, cut or
// replay a block, lose acks) is scripted on the simulator with
// streamtest's Hooks; what the network does to the client's own bytes,
// in either direction, is scripted here.
//
// A [Script] holds at most one [Cut] per direction of one connection, seen
// from the wrapped end: a Read cut acts on the bytes arriving (what Read
// returns), a Write cut on the bytes leaving (what Write is given). A
// [Dialer] wraps every conn it dials with the Script for that dial, and
// fits any client option of the form
// interface{ DialContext(ctx, network, address string) (net.Conn, error) },
// so that a client can be given faults without real sockets (Dial can
// return one end of a net.Pipe):
//
//	d := &faultnet.Dialer{
//		Dial: dialPipe,
//		Script: func(i int) faultnet.Script {
//			return faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(120, faultnet.RST)}}
//		},
//	}
//
// # Cuts
//
// Cut(n, mode) lets exactly n bytes through in its direction, however the
// stream is split into calls: a Read or Write that would cross n stops at
// n, and the cut takes effect as soon as byte n−1 has passed, so the peer
// sees the end of the stream at once. A cut ends both directions and
// closes the inner conn.
//
// On the wrapped end, after a FIN cut reads return io.EOF and writes fail
// with a [*FaultError] matching syscall.EPIPE; after an RST cut both fail
// with a [*FaultError] matching syscall.ECONNRESET. Every injected error
// matches [ErrInjected]. The peer sees the inner conn closed (io.EOF over a
// net.Pipe); no TCP reset is sent. [Script.OnFault] is called when a cut
// takes effect.
//
// The package imports only the standard library and starts no goroutines.
package faultnet
