package protocol

import "strconv"

// Type is the frame type in the first two bytes of every frame.
type Type uint16

// The frame types of protocol version 1. No other types exist; in particular
// there is no heartbeat frame.
const (
	TypeConnectRequest         Type = 1 // client → server, first frame
	TypeConnectResponse        Type = 2 // server → client, answer to ConnectRequest
	TypePublishMessage         Type = 3 // server → client, one block of events
	TypePublishMessageReceived Type = 4 // client → server, the ack of one block
)

// String returns the protocol's name for t, or "Type(n)" for unknown values.
func (t Type) String() string {
	switch t {
	case TypeConnectRequest:
		return "ConnectRequest"
	case TypeConnectResponse:
		return "ConnectResponse"
	case TypePublishMessage:
		return "PublishMessage"
	case TypePublishMessageReceived:
		return "PublishMessageReceived"
	}
	return "Type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Valid reports whether t is one of the four defined frame types.
func (t Type) Valid() bool { return t >= TypeConnectRequest && t <= TypePublishMessageReceived }

// FromServer reports whether frames of type t travel from server to client.
func (t Type) FromServer() bool { return t == TypeConnectResponse || t == TypePublishMessage }

// Compression is the compression byte of a PublishMessage.
type Compression uint8

// Compression values. The REST option "gzip" is a legacy alias whose bytes
// are zlib on the wire, so it has no value of its own.
const (
	CompressionNone Compression = 0
	CompressionZlib Compression = 1
)

// String returns "none", "zlib" or "Compression(n)".
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionZlib:
		return "zlib"
	}
	return "Compression(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Format is the document format byte of a PublishMessage.
type Format uint8

// Format values.
const (
	FormatXML  Format = 0
	FormatJSON Format = 1
)

// String returns "xml", "json" or "Format(n)".
func (f Format) String() string {
	switch f {
	case FormatXML:
		return "xml"
	case FormatJSON:
		return "json"
	}
	return "Format(" + strconv.FormatUint(uint64(f), 10) + ")"
}

// Status is the status code of a ConnectResponse or an ack.
type Status uint16

// Status codes seen on the wire. Any status other than StatusOK in a
// ConnectResponse is a refusal.
const (
	StatusOK           Status = 200
	StatusBadRequest   Status = 400 // unknown or foreign monitor id, bad version
	StatusUnauthorized Status = 403 // wrong credentials
)

// String returns "200 OK", "400 Bad Request", "403 Unauthorized" or the bare
// number for other codes.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "200 OK"
	case StatusBadRequest:
		return "400 Bad Request"
	case StatusUnauthorized:
		return "403 Unauthorized"
	}
	return strconv.FormatUint(uint64(s), 10)
}

// Sizes and limits of protocol version 1.
const (
	// Version is the only protocol version that exists.
	Version uint16 = 1
	// HeaderSize is the size of the Type and Size fields before every payload.
	HeaderSize = 6
	// PublishHeaderSize is the PublishMessage sub-header before its document.
	PublishHeaderSize = 10
	// AckSize is the size of a whole ack frame, header included.
	AckSize = 10
	// ConnectResponseSize is the size of a whole ConnectResponse frame.
	ConnectResponseSize = 10
	// MaxCredentialLen is the largest user name or password, in bytes, that a
	// ConnectRequest can carry.
	MaxCredentialLen = 0xFFFF

	// DefaultMaxFrameSize is the frame size limit of a Reader whose options
	// leave MaxFrameSize zero.
	DefaultMaxFrameSize = 16 << 20
	// DefaultBufferSize is the read buffer of a Reader whose options leave
	// BufferSize zero.
	DefaultBufferSize = 4 << 10
	// DefaultMaxDecompressed is the inflated-size limit of NewInflater(0).
	DefaultMaxDecompressed = 64 << 20
)
