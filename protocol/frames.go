package protocol

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/pushmon/pushmon/secret"
)

// ConnectRequest is the client's first frame. Username aliases the payload
// it was parsed from (see [ParseConnectRequest]).
//
// Password is a [secret.String], so that printing or logging a
// ConnectRequest never reveals it, also when it sits in a field of a
// struct of yours (exported or not, where fmt cannot call its methods and
// would print a []byte's bytes), in encoding/gob, or in a go-cmp diff.
// ConnectRequest itself redacts Password in every fmt verb, in
// encoding/json (and so in log/slog's JSON handler) and in encoding's text
// form.
type ConnectRequest struct {
	Version   uint16
	Username  []byte
	Password  secret.String
	MonitorID uint32
}

// String returns a form with the password redacted.
func (c ConnectRequest) String() string {
	return "ConnectRequest{Version:" + strconv.Itoa(int(c.Version)) +
		" Username:" + strconv.Quote(string(c.Username)) +
		" Password:[REDACTED] MonitorID:" + strconv.FormatUint(uint64(c.MonitorID), 10) + "}"
}

// GoString returns the same redacted form as String.
func (c ConnectRequest) GoString() string { return "protocol." + c.String() }

// Format makes every verb, %x and %+v included, print the redacted form.
func (c ConnectRequest) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	io.WriteString(f, c.String())
}

// MarshalText returns String's redacted form: encoding/json would
// otherwise print Password as base64.
func (c ConnectRequest) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// ConnectResponse is the server's answer to a ConnectRequest.
type ConnectResponse struct {
	Status  Status
	Version uint16
}

// PublishMessage is one block of events. Payload is the event document,
// compressed when Compression is CompressionZlib; it aliases the frame
// payload it was parsed from.
//
// Count is the server's claim of how many events the document holds. It is
// reported as sent and must never be used to size an allocation.
type PublishMessage struct {
	DataBlockID uint16
	Count       uint16
	Compression Compression
	Format      Format
	Payload     []byte
}

// Ack is a PublishMessageReceived frame: the client's acknowledgement of one
// block, named by the DataBlockID it echoes.
type Ack struct {
	DataBlockID uint16
	Status      Status
}

// ParseConnectRequest decodes the payload of a TypeConnectRequest frame. The
// returned Username aliases payload; Password is a copy, held as a secret.
//
// Lengths are byte lengths. The version is returned as sent; rejecting
// versions other than [Version] is the caller's policy.
func ParseConnectRequest(payload []byte) (ConnectRequest, error) {
	size := uint32(len(payload))
	if len(payload) < 10 {
		return ConnectRequest{}, frameErr(TypeConnectRequest, size, ErrSizeMismatch, "shorter than 10 bytes")
	}
	var c ConnectRequest
	c.Version = binary.BigEndian.Uint16(payload)
	n := int(binary.BigEndian.Uint16(payload[2:]))
	if 4+n+2 > len(payload) {
		return ConnectRequest{}, frameErr(TypeConnectRequest, size, ErrSizeMismatch, "user name length overruns the frame")
	}
	c.Username = payload[4 : 4+n : 4+n]
	m := int(binary.BigEndian.Uint16(payload[4+n:]))
	if 10+n+m != len(payload) {
		return ConnectRequest{}, frameErr(TypeConnectRequest, size, ErrSizeMismatch, "credential lengths disagree with the frame size")
	}
	c.Password = secret.New(string(payload[6+n : 6+n+m]))
	c.MonitorID = binary.BigEndian.Uint32(payload[6+n+m:])
	return c, nil
}

// ParseConnectResponse decodes the payload of a TypeConnectResponse frame.
// The version is returned as sent; refusing versions other than [Version]
// is the caller's policy (package stream ends the connection attempt).
func ParseConnectResponse(payload []byte) (ConnectResponse, error) {
	if len(payload) != 4 {
		return ConnectResponse{}, frameErr(TypeConnectResponse, uint32(len(payload)), ErrSizeMismatch, "payload must be 4 bytes")
	}
	return ConnectResponse{
		Status:  Status(binary.BigEndian.Uint16(payload)),
		Version: binary.BigEndian.Uint16(payload[2:]),
	}, nil
}

// ParsePublishMessage decodes the payload of a TypePublishMessage frame. The
// returned Payload aliases payload. PayloadSize must equal len(payload)−10,
// and the compression and format bytes must be known values.
func ParsePublishMessage(payload []byte) (PublishMessage, error) {
	// The checks are one condition so that this stays small enough to
	// inline; publishError works out which one failed.
	n := len(payload)
	if n < PublishHeaderSize || uint64(binary.BigEndian.Uint32(payload[6:])) != uint64(n-PublishHeaderSize) ||
		payload[4] > byte(CompressionZlib) || payload[5] > byte(FormatJSON) {
		return PublishMessage{}, publishError(payload)
	}
	return PublishMessage{
		DataBlockID: binary.BigEndian.Uint16(payload),
		Count:       binary.BigEndian.Uint16(payload[2:]),
		Compression: Compression(payload[4]),
		Format:      Format(payload[5]),
		Payload:     payload[PublishHeaderSize:n:n],
	}, nil
}

// publishError describes why ParsePublishMessage refused payload.
func publishError(payload []byte) error {
	size := uint32(len(payload))
	if len(payload) < PublishHeaderSize {
		return frameErr(TypePublishMessage, size, ErrSizeMismatch, "shorter than its 10-byte sub-header")
	}
	if ps := binary.BigEndian.Uint32(payload[6:]); uint64(ps) != uint64(len(payload)-PublishHeaderSize) {
		return frameErr(TypePublishMessage, size, ErrSizeMismatch,
			"PayloadSize "+strconv.FormatUint(uint64(ps), 10)+" but "+strconv.Itoa(len(payload)-PublishHeaderSize)+" bytes follow the sub-header")
	}
	if c := Compression(payload[4]); c > CompressionZlib {
		return frameErr(TypePublishMessage, size, ErrUnknownCompression, c.String())
	}
	return frameErr(TypePublishMessage, size, ErrUnknownFormat, Format(payload[5]).String())
}

// ParseAck decodes the payload of a TypePublishMessageReceived frame.
func ParseAck(payload []byte) (Ack, error) {
	if len(payload) != 4 {
		return Ack{}, frameErr(TypePublishMessageReceived, uint32(len(payload)), ErrSizeMismatch, "payload must be 4 bytes")
	}
	return Ack{
		DataBlockID: binary.BigEndian.Uint16(payload),
		Status:      Status(binary.BigEndian.Uint16(payload[2:])),
	}, nil
}

// AppendHeader appends a frame header of type t announcing size payload bytes.
func AppendHeader(dst []byte, t Type, size uint32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(t))
	return binary.BigEndian.AppendUint32(dst, size)
}

// AppendConnectRequest appends a whole ConnectRequest frame (protocol
// version 1). Lengths are UTF-8 byte lengths. A credential longer than
// [MaxCredentialLen] bytes returns dst unchanged and an error matching
// [ErrCredentialTooLong]; it is never truncated. The error does not contain
// the credential.
func AppendConnectRequest(dst []byte, username, password string, monitorID uint32) ([]byte, error) {
	if len(username) > MaxCredentialLen {
		return dst, fmt.Errorf("%w: user name is %d bytes", ErrCredentialTooLong, len(username))
	}
	if len(password) > MaxCredentialLen {
		return dst, fmt.Errorf("%w: password is %d bytes", ErrCredentialTooLong, len(password))
	}
	dst = AppendHeader(dst, TypeConnectRequest, uint32(10+len(username)+len(password)))
	dst = binary.BigEndian.AppendUint16(dst, Version)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(username)))
	dst = append(dst, username...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(password)))
	dst = append(dst, password...)
	return binary.BigEndian.AppendUint32(dst, monitorID), nil
}

// AppendConnectResponse appends a whole ConnectResponse frame with the given
// status and protocol version 1.
func AppendConnectResponse(dst []byte, status Status) []byte {
	dst = AppendHeader(dst, TypeConnectResponse, 4)
	dst = binary.BigEndian.AppendUint16(dst, uint16(status))
	return binary.BigEndian.AppendUint16(dst, Version)
}

// AppendPublishMessage appends a whole PublishMessage frame carrying
// m.Payload as its document (already compressed if m.Compression says so).
// It fails with [ErrPayloadTooLarge] when the frame's Size would overflow 32
// bits.
func AppendPublishMessage(dst []byte, m PublishMessage) ([]byte, error) {
	if uint64(len(m.Payload)) > uint64(0xFFFFFFFF-PublishHeaderSize) {
		return dst, ErrPayloadTooLarge
	}
	dst = AppendHeader(dst, TypePublishMessage, uint32(PublishHeaderSize+len(m.Payload)))
	dst = binary.BigEndian.AppendUint16(dst, m.DataBlockID)
	dst = binary.BigEndian.AppendUint16(dst, m.Count)
	dst = append(dst, byte(m.Compression), byte(m.Format))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Payload)))
	return append(dst, m.Payload...), nil
}

// AppendAck appends the documented 10-byte ack frame for block id with
// status 200: 00 04 00 00 00 04 ID ID 00 C8.
func AppendAck(dst []byte, id uint16) []byte {
	dst = AppendHeader(dst, TypePublishMessageReceived, 4)
	dst = binary.BigEndian.AppendUint16(dst, id)
	return binary.BigEndian.AppendUint16(dst, uint16(StatusOK))
}

// AppendLegacyAck appends the undocumented 6-byte ack that some old clients
// send (type, id, status; no Size field). It exists so that tests can drive
// a server's legacy mode ([ReaderOptions.AcceptLegacyAck]); a client must
// send [AppendAck]'s documented form.
func AppendLegacyAck(dst []byte, id uint16) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(TypePublishMessageReceived))
	dst = binary.BigEndian.AppendUint16(dst, id)
	return binary.BigEndian.AppendUint16(dst, uint16(StatusOK))
}
