package protocol

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error the package returns for malformed input
// matches one of them with errors.Is.
var (
	// ErrFrameTooLarge: a frame declared a Size above the Reader's limit. It is
	// reported before any byte of the body is read or any buffer is grown.
	ErrFrameTooLarge = errors.New("protocol: frame too large")
	// ErrUnknownType: the Type field is not one of the four frame types.
	ErrUnknownType = errors.New("protocol: unknown frame type")
	// ErrWrongDirection: a valid frame type that the peer must never send
	// (for example a ConnectRequest arriving at a client).
	ErrWrongDirection = errors.New("protocol: frame type not allowed in this direction")
	// ErrSizeMismatch: a size or length field disagrees with the bytes present
	// (PayloadSize ≠ Size−10, a fixed-size frame of the wrong size, credential
	// lengths that overrun the payload).
	ErrSizeMismatch = errors.New("protocol: size mismatch")
	// ErrTruncated: the stream ended inside a frame. It also matches
	// io.ErrUnexpectedEOF.
	ErrTruncated = errors.New("protocol: truncated frame")
	// ErrUnknownCompression: a PublishMessage compression byte other than 0 or 1.
	ErrUnknownCompression = errors.New("protocol: unknown compression")
	// ErrUnknownFormat: a PublishMessage format byte other than 0 or 1.
	ErrUnknownFormat = errors.New("protocol: unknown format")
	// ErrCorruptPayload: a compressed payload is not a valid zlib stream
	// (bad header, bad data, bad checksum, or truncated).
	ErrCorruptPayload = errors.New("protocol: corrupt compressed payload")
	// ErrDecompressedTooLarge: a compressed payload inflates beyond the
	// Inflater's limit. Inflation stops at the limit.
	ErrDecompressedTooLarge = errors.New("protocol: decompressed payload too large")
	// ErrCredentialTooLong: a user name or password longer than 65 535 bytes,
	// which a ConnectRequest cannot encode. Never truncated.
	ErrCredentialTooLong = errors.New("protocol: credential longer than 65535 bytes")
	// ErrPayloadTooLarge: an encoder was given a payload whose frame Size
	// would not fit in 32 bits.
	ErrPayloadTooLarge = errors.New("protocol: payload too large to encode")
	// ErrLooksLikeTLS: the peer's first bytes are a TLS record, so the
	// connection is plaintext on one side and TLS on the other.
	ErrLooksLikeTLS = errors.New("protocol: this looks like TLS, not push frames: wrong port, or plaintext vs TLS?")
	// ErrLooksLikeHTTP: the peer's first bytes are HTTP, so this is a web
	// port, not a push port.
	ErrLooksLikeHTTP = errors.New("protocol: this looks like HTTP, not push frames: wrong port, or plaintext vs TLS?")
)

// FrameError describes malformed input in one frame. Err is one of the
// sentinel errors above (possibly wrapping a cause such as
// io.ErrUnexpectedEOF); errors.Is and errors.As see through it.
//
// A FrameError never holds payload bytes, so printing it cannot leak a
// credential from a ConnectRequest.
//
// The errors of an Inflater, which sees a payload but not its frame, have
// Type TypePublishMessage and Size 0, and their message names no size.
type FrameError struct {
	Type   Type   // the frame's type as read (may be invalid)
	Size   uint32 // the frame's declared Size (0 from an Inflater)
	Detail string // what exactly was wrong, for humans
	Err    error  // sentinel, possibly wrapping a cause

	noSize bool // Size is unknown (an Inflater's error): Error omits it
}

func (e *FrameError) Error() string {
	s := e.Err.Error()
	switch {
	case e.noSize:
		s += " (" + e.Type.String() + ")"
	case e.Type != 0 || e.Size != 0:
		s += " (" + e.Type.String() + ", size " + strconv.FormatUint(uint64(e.Size), 10) + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *FrameError) Unwrap() error { return e.Err }

// truncatedError joins ErrTruncated with io.ErrUnexpectedEOF.
type truncatedError struct{ cause error }

func (e truncatedError) Error() string   { return ErrTruncated.Error() }
func (e truncatedError) Unwrap() []error { return []error{ErrTruncated, e.cause} }

func frameErr(t Type, size uint32, err error, detail string) error {
	return &FrameError{Type: t, Size: size, Err: err, Detail: detail}
}
