// Package faultnet injects scripted, reproducible network faults into any
// net.Conn, for reliability tests: cut the connection (FIN or RST) at an
// exact byte, stall it, slice it into small reads and writes, delay it,
// rate-limit it, drop or corrupt bytes.
//
// A [Script] lists [Fault]s for each direction of one connection, seen from
// the wrapped end: Read faults act on the bytes arriving (what Read
// returns), Write faults on the bytes leaving (what Write is given). A
// Script is plain data that prints itself, so a failing test can show
// exactly what was injected:
//
//	s := faultnet.Script{
//		Read:  []faultnet.Fault{faultnet.Slice(3)},
//		Write: []faultnet.Fault{faultnet.Cut(120, faultnet.RST)},
//	}
//	conn := faultnet.Wrap(inner, s) // a *faultnet.Conn is a net.Conn
//
// Three ways to put a Script on a conn: [Wrap] one conn; [Listen] so each
// accepted conn gets its own Script; or a [Dialer] whose DialContext fits
// any client option of the form
// interface{ DialContext(ctx, network, address string) (net.Conn, error) },
// so a client can be given faults without real sockets (Dial can return
// one end of a net.Pipe).
//
// # Offsets
//
// Cut, Stall, Drop and Corrupt are keyed by the byte offset in their
// direction's stream, counted from 0 over the stream as its sender produced
// it (before any Drop). The offsets are exact however the stream is split
// into calls: Cut(n, …) lets exactly n bytes through whether they come in
// one Write or in a thousand, and a Read or Write that would cross n stops
// at n. A cut takes effect as soon as byte n−1 has passed, so the peer sees
// the end of stream at once. A cut ends both directions.
//
// # Cuts
//
// FIN is a clean close: the wrapped end's reads return io.EOF, its writes
// fail with a [*FaultError] matching syscall.EPIPE, and the inner conn is
// closed (a bare *net.TCPConn is shut down for writing first, so the peer
// reads FIN right after the last byte). RST is an abortive close: reads and
// writes fail with a [*FaultError] matching syscall.ECONNRESET, and the
// *net.TCPConn underneath (the inner conn itself, or found through a chain
// of NetConn methods, as on a *tls.Conn) is set to linger 0 and closed, so
// the peer's next read or write fails with ECONNRESET too. Over a net.Pipe, which cannot reset, the
// peer sees io.EOF for both. All injected errors match [ErrInjected].
//
// On a real socket a reset, or a close with received bytes left unread,
// makes the kernel discard what it has not yet delivered. So that the peer
// still receives exactly the bytes before the cut, a cut first waits for
// the TCP send queue to drain (Linux; it gives up when the queue stops
// shrinking for 200 ms, e.g. because the peer stopped reading). A Read-side
// FIN cut usually leaves bytes from the peer unread, so the kernel follows
// the FIN with a reset and the peer may see EOF or ECONNRESET.
//
// # Stalls, delays and rate limits
//
// A stall lets n bytes through and then blocks its direction until
// [Conn.Release], Close, a cut, or the direction's deadline, which fails the
// call with os.ErrDeadlineExceeded; no goroutine is left behind. Delays and
// rate limits wait on timers, so under testing/synctest the fake clock
// drives them and a test can assert exact durations: 1000 bytes at
// Rate(100) take exactly 10 s of fake time. Deadlines set on the Conn go to
// the inner conn and also bound these waits.
//
// # TLS
//
// To fault the plaintext of a TLS session (so offsets count application
// bytes, not record bytes), wrap the *tls.Conn itself:
//
//	tc := tls.Client(raw, cfg)
//	conn := faultnet.Wrap(tc, script)
//
// A FIN cut then closes the tls.Conn (close_notify, then the socket); an RST
// cut resets the TCP conn underneath, found with NetConn, and closes the
// tls.Conn. Wrapping the raw conn under tls.Client also works, with offsets
// counting TLS record bytes, handshake included.
//
// # Seeds
//
// [Random] draws a Script from a seed (math/rand/v2, PCG): a cut at a
// uniform offset in a range, in a random direction, FIN or RST by coin
// flip, optionally with random slicing. The same seed gives the same Script,
// so a test prints the seed on failure and the run can be replayed.
//
// # Observing
//
// [Conn.Stats] counts bytes read, written and dropped; [Conn.Events] logs
// every cut, stall, release, drop and corruption with its offset, and
// Script.OnFault is called for each as it happens.
//
// The package imports only the standard library and starts no goroutines.
package faultnet
