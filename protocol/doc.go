// Package protocol is the wire codec of Remote Manager's TCP push protocol:
// frames in, frames out, and nothing else.
//
// Every frame, in both directions, is a 6-byte header (Type uint16, Size
// uint32, big-endian; Size counts the payload after the header) followed by
// Size payload bytes. Four frame types exist: ConnectRequest and
// PublishMessageReceived (the ack) travel from client to server,
// ConnectResponse and PublishMessage from server to client.
//
// The package starts no goroutines, logs nothing and holds no policy: it
// does not dial, retry, time out or decide what a status code means for a
// session. Those belong to package stream. It imports the standard library
// and, for zlib, github.com/klauspost/compress.
//
// Decoding borrows and encoding appends. [Reader.ReadFrame] returns a payload
// that aliases the reader's internal buffer and stays valid only until the
// next call on the same Reader; the Parse functions return values that alias
// the payload they were given. Encoders (AppendAck, AppendConnectRequest, …)
// append to a caller's slice and return it, so a caller that reuses its slice
// encodes without allocating. A Reader or Inflater in steady state performs
// no allocation per frame.
//
// Server-controlled numbers are never trusted to size an allocation: the
// declared frame size is checked against [ReaderOptions.MaxFrameSize] before
// any body byte is read, a large body's buffer grows only as bytes actually
// arrive, Count in a PublishMessage is reported but never used, and inflated
// output is capped by [NewInflater]'s limit.
//
// Malformed input yields an error that matches one of the package's sentinel
// errors with [errors.Is] (for example [ErrFrameTooLarge], [ErrSizeMismatch],
// [ErrTruncated]) and is a [*FrameError] for [errors.As] when it concerns one
// frame.
package protocol
