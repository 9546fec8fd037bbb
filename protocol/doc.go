// Package protocol is the wire codec of Remote Manager's TCP push protocol:
// frames in, frames out, and nothing else. Its documentation is also the
// project's wire reference: the sections §1 to §8 below state what the
// project knows of the protocol and of the REST and HTTP sides around it,
// and the rest of the module cites them by number.
//
// # Use
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
// the payload they were given (but for a ConnectRequest's Password, a copy
// held as a secret.String). Encoders (AppendAck, AppendConnectRequest, …)
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
//
// # The wire reference
//
// Remote Manager (formerly iDigi, then Device Cloud) pushes events about an
// account's resources (devices, data points, files, alarms …) to clients.
// A client creates a Monitor over REST (§5, §6), then receives its events
// through one of three transports, the monitor's monTransportType:
//
//	tcp      client dials the server: port 3200 plain, 3201 TLS,   binary frames (§1–§3)
//	         on the REST host
//	http     server calls a client URL                             HTTP PUT/POST bodies (§7)
//	polling  nobody connects; events are stored                    GET /ws/v1/monitors/history/{id} (§6)
//
// Where the sources disagree, the reference says which one the project
// follows: Remote Manager's public documentation, bytes captured from the
// real service, or what the existing Python, Java and TypeScript clients
// do. Traps, where following the wrong source breaks a client, are marked
// "Trap".
//
// # §1 Framing
//
// Every TCP frame, in both directions:
//
//	offset  size  field
//	0       2     Type, uint16: 1 ConnectRequest, 2 ConnectResponse,
//	              3 PublishMessage, 4 PublishMessageReceived (ack)
//	2       4     Size, uint32: the payload bytes after this 6-byte header
//	6       Size  payload
//
// All integers are big-endian. Size excludes the header (the captured
// frames agree; see the trap in §2.3). No other frame type exists, and
// there is no heartbeat frame: a quiet connection is normal and healthy.
//
// A frame may be split over many reads, and one read may hold several
// frames; existing clients have broken on both (one loses sync when a
// header is split right after its Type, another stalls on two frames in
// one TLS record). [Reader] handles both.
//
// Size is chosen by the server, so it is checked against a cap before any
// buffer is sized ([ErrFrameTooLarge], [DefaultMaxFrameSize] 16 MiB). A
// type that does not exist ([ErrUnknownType]) or that the peer must never
// send ([ErrWrongDirection]) is refused.
//
// # §2 Frames
//
// §2.1 ConnectRequest, type 1, client → server, the first frame:
//
//	offset in payload  size  field
//	0                  2     ProtocolVersion = 1 (the only version)
//	2                  2     UserNameLen, in UTF-8 bytes
//	4                  n     UserName
//	4+n                2     PasswordLen, in UTF-8 bytes
//	6+n                m     Password
//	6+n+m              4     MonitorId, uint32
//
// The payload is 10+n+m bytes. The documented example, user "pepsi",
// password "cola", monitor 260:
//
//	00 01 00 00 00 13 00 01 00 05 70 65 70 73 69 00 04 63 6f 6c 61 00 00 01 04
//
// Lengths count bytes, not characters (some clients count characters and
// break on non-ASCII credentials). A credential longer than 65 535 bytes
// cannot be encoded: [AppendConnectRequest] refuses it
// ([ErrCredentialTooLong]) and never truncates. The credentials are those
// of REST Basic authentication; whether API keys work here is not
// documented.
//
// §2.2 ConnectResponse, type 2, server → client: Status uint16, then
// ProtocolVersion uint16; the whole frame is 10 bytes. Captured from the
// real service:
//
//	00 02 00 00 00 04 00 c8 00 01    status 200, version 1
//
// 200 is success. 403 is a refusal of the credentials and 400 a bad request
// (an unknown or foreign monitor id, a bad version); those two codes come
// from the existing clients, the documentation names none. Any status other
// than 200 refuses that monitor for good: the client reports it and closes
// the connection rather than retrying in a loop. A 200 in a version other
// than 1 is refused for good too (stream.ErrProtocolVersion): version 1 is
// the only one that exists, and frames of another could not be trusted to
// mean what version 1's mean. Trap: the documentation's example shows
// status 1; the service sends 200.
//
// §2.3 PublishMessage, type 3, server → client, one block of events:
//
//	offset in payload  size         field
//	0                  2            DataBlockId: echo it in the ack
//	2                  2            Count: events in the block
//	4                  1            Compression: 0 none, 1 zlib
//	5                  1            Format: 0 XML, 1 JSON
//	6                  4            PayloadSize = Size − 10
//	10                 PayloadSize  the event document (§4)
//
// A capture of two frames (1 048 bytes) starts
//
//	00 03 00 00 02 06 | 00 00 00 01 00 01 00 00 01 fc | {"Document":{"Msg":{…"operation":"UPDATE"…}}}
//
// (Size 0x206, DataBlockId 0, Count 1, uncompressed JSON, PayloadSize
// 0x1fc = 508), then the same with DataBlockId 1 and a DELETE.
//
//   - Trap: the documentation's own example counts the header in Size
//     (0x215 where the payload is 0x205). The capture does not; the codec
//     follows the capture and treats PayloadSize ≠ Size − 10 as an error
//     ([ErrSizeMismatch]).
//   - Trap: the documentation says the payload "may be compressed & Base64
//     encoded". No client decodes Base64 and the captured payload is raw
//     JSON: payloads are raw bytes, compressed or not.
//   - Compression 1 is a zlib stream (RFC 1950: a 2-byte header, DEFLATE
//     data, an Adler-32 checksum). The REST option monCompression=gzip is a
//     legacy alias: its bytes are zlib too. A compressed payload is inflated
//     with an [Inflater], whose output is capped
//     ([ErrDecompressedTooLarge], [DefaultMaxDecompressed] 64 MiB), since
//     1 MiB of zlib can inflate to 1 GiB.
//   - DataBlockId counts blocks on one connection and wraps from 0xFFFF to
//     0 (a client has been seen to crash there). It restarts on every
//     connection, so it is never an event's identity (§3).
//   - Count is the server's claim: it is reported, never used to size
//     anything.
//
// §2.4 PublishMessageReceived (the ack), type 4, client → server:
// DataBlockId uint16, then Status uint16 = 200; the whole frame is 10
// bytes. The ack of block 0x01A7:
//
//	00 04 00 00 00 04 01 a7 00 c8
//
// Only status 200 is documented; no other is ever sent. Trap: the
// documentation and the Java and TypeScript clients send this 10-byte
// form; the two Python clients send 6 bytes with no Size field
// (00 04 01 a7 00 c8), which is a bug. Clients send the documented form; the
// project's simulator accepts the 6-byte form too, so that the old clients
// can run against it ([ReaderOptions.AcceptLegacyAck]).
//
// # §3 Acknowledgement, replay, delivery
//
// The monitor's monAckOption decides whether acks matter: "explicit" makes
// the server wait for an ack of each block; "off" (the default) counts a
// block as delivered once written to the socket. It applies to tcp only.
//
// A monitor with monAutoReplayOnConnect=true (v1: persistent) records
// events while no client is connected (status SUSPENDED) and replays them
// on the next connection before new ones, each marked replay: true (XML:
// replay="true"). What the server does with blocks that were sent but not
// acked when a connection dropped is not documented; the safe reading is
// that a persistent monitor replays them. So duplicates after a reconnect
// are normal, and are removed by event identity (§4), never by
// DataBlockId.
//
// A block is acked only after every one of its events has been handed to
// the consumer; acking on receipt, as the Java and TypeScript clients do,
// makes a client at-most-once. With that rule the project promises
// at-least-once delivery (at most once after deduplication) for
// explicit-ack persistent monitors, and at-most-once otherwise; never
// exactly-once.
//
// How many unacked blocks the server lets in flight is not documented. A
// client must work with a strict stop-and-wait server (the next block only
// after the ack: so acks are written before the reader blocks, never on a
// timer) and with one that pipelines freely.
//
// Monitor status (monStatus): CONNECTING (http), ACTIVE, INACTIVE,
// SUSPENDED (persistent, disconnected, recording), DISABLED (http, after
// 24 h of failures). Any PUT of a monitor resets its state.
//
// # §4 The event document
//
// JSON: {"Document":{"Msg":M}}, where M is an object for one event and an
// array for several. XML:
//
//	<Document><Msg topic=".." operation=".." timestamp=".." [replay="true"]><DeviceCore>…</DeviceCore></Msg>…</Document>
//
// and a single <Msg> root without <Document> also appears in the
// documentation: both are accepted.
//
// Each Msg has topic, operation, timestamp, an optional group ("*" in the
// samples), an optional replay (true), and exactly one child named after
// its resource. A monitor with a handlebars template (monSchemaType
// handlebars) pushes whatever the template renders: it is delivered raw.
//
//   - topic is <customerId>/<Resource>/<path>: 3/DeviceCore/882/7,
//     7603/DataPoint/test, 00000/devices/<id>,
//     00000/alert_status/41826/aggregate-throttle%2F<id> (path parts may be
//     URL-encoded).
//   - operation is CREATE, UPDATE, DELETE or INSERTION (a new DataPoint or
//     FileData). XML samples write it in lower case: it is compared without
//     regard to case.
//   - timestamp is ISO 8601 in UTC, usually with milliseconds, sometimes
//     without.
//
// Pushed JSON carries numbers where REST listings carry strings. A
// DataPoint:
//
//	{"DataPoint":{"cstId":7603,"data":0.4117,"description":"","id":"684572e0-12c4-11e5-8507-fa163ed4cf14",
//	  "quality":0,"serverTimestamp":1434307047694,"streamId":"test","streamUnits":"","timestamp":1434307047694}}
//
// Its id (a UUID) names the data point, not the event, and the project
// does not deduplicate by it: an INSERTION and a DELETE of one DataPoint
// share it, and a reading may come without one. Replays are removed by
// event identity (topic, operation, timestamp, resource and body; see
// stream's Event.Identity), the same for every topic. data is a number or
// a string; timestamp and serverTimestamp are epoch milliseconds; it may
// also carry streamType and location. A DeviceCore has id {devId,
// devVersion}, devConnectwareId, devMac, cstId, grpId, grpPath,
// dpConnectionStatus (0 disconnected, 1 connected), dpDeviceType,
// dpFirmwareLevel, dpLastKnownIp, dpGlobalIp, dpLastConnectTime,
// dpLastDisconnectTime, dpDescription, dpContact, dpLocation, dpMapLat,
// dpMapLong, dpTags, devRecordStartDate, devEffectiveStartDate,
// devTerminated, dpRestrictedStatus, dpCapabilities and dvVendorId. A
// FileData has id {fdPath, fdName}, fdData (standard Base64, possibly with
// newlines, absent when empty), fdSize, fdContentType, fdType (file or
// event), fdArchive, fdCreatedDate, fdLastModifiedDate and cstId; files
// over 120 KB are not pushed, nor are FileData deletions. Other documented
// topics: devices (v1 device objects), alert_status, jobs, Alarm,
// AlarmStatus, DataStream, FileDataCore, Job, JobResult, XbeeCore, Group.
//
// # §5 Legacy REST: /ws/Monitor
//
// XML bodies, HTTP Basic authentication:
//
//	GET     /ws/Monitor?condition=…&start=N&size=N   list, paged (JSON with Accept: application/json
//	                                                 or /ws/Monitor/.json)
//	GET     /ws/Monitor/{id}                         one monitor, in the list's envelope
//	POST    /ws/Monitor                              create
//	PUT     /ws/Monitor/{id}                         update; resets the monitor's state
//	DELETE  /ws/Monitor/{id}                         delete
//
// A bare <Monitor><monId>id</monId></Monitor> PUT "kicks" an inactive or
// backed-off monitor. A create:
//
//	<Monitor><monTopic>DeviceCore,FileData</monTopic><monTransportType>tcp</monTransportType>
//	<monFormatType>json</monFormatType><monBatchSize>1</monBatchSize><monBatchDuration>60</monBatchDuration>
//	<monCompression>zlib</monCompression><monAckOption>explicit</monAckOption>
//	<monAutoReplayOnConnect>true</monAutoReplayOnConnect></Monitor>
//
// is answered 201 with
//
//	<?xml version="1.0" encoding="ISO-8859-1"?>
//	<result><location>Monitor/1234</location></result>
//
// and a Location header (clients read the id from either).
//
// Elements: monId, cstId (read-only), monTopic (comma-separated),
// monTransportType (tcp, http, polling), monFormatType (json, xml),
// monBatchSize (default 100), monBatchDuration (seconds, default 10),
// monCompression (none, zlib; gzip is an alias), monAckOption (explicit,
// off), monAutoReplayOnConnect, monDescription, monTransportUrl,
// monTransportToken ("user:pass", the server's Basic credentials for your
// URL), monTransportMethod (PUT by default, or POST), monTransportHeaders
// ("Name: value" lines), monConnectTimeout and monResponseTimeout
// (milliseconds, 0 means 5000), monSchemaType (handlebars), monSchemaData,
// and the read-only monStatus, monLastConnect, monLastSent,
// monLastSentUuid. Bodies must be escaped as XML (clients that format them
// as strings break on < and &).
//
// The JSON list envelope, all values strings:
//
//	{"resultTotalRows":"1","requestedStartRow":"0","resultSize":"1","requestedSize":"1000","remainingSize":"0",
//	 "items":[{"monId":"178007","cstId":"7603","monTopic":"DeviceCore,DataPoint","monTransportType":"tcp",
//	 "monFormatType":"json","monBatchSize":"1","monCompression":"zlib","monStatus":"INACTIVE","monBatchDuration":"10"}]}
//
// Pages are walked with start += size while remainingSize > 0. Conditions
// look like monTopic='DeviceCore' and monTransportType='tcp', or
// monStatus='DISABLED'. Errors: 400 with
// <result><error>POST Monitor error. Invalid request. Invalid monTopic
// specified</error></result>; 429 when throttled (retry with backoff).
// Topics: DeviceCore, DataPoint/<deviceId>, DataPoint/*/metrics/cellular,
// FileData/*.*, with filters such as [operation=U]DeviceCore, DeviceCore[U]
// or [group=A,B]devices; the server refuses a bad topic at create time.
//
// GET /ws/DeviceCore lists the account's devices; clients call it to check
// credentials (401 when they are wrong).
//
// # §6 v1 JSON REST
//
// /ws/v1/monitors/inventory: GET lists (query, orderby; the answer is
// {"list":[…]}), POST creates (the answer has the id).
// /ws/v1/monitors/inventory/{id}: GET, PUT, DELETE; …/{id}/reset re-enables a
// DISABLED monitor. Fields: id, customer_id, type (tcp, http, polling),
// topics (an array), format, persistent, batch_size, batch_duration,
// compression, acknowledgement, description, url, method, headers,
// auth_token, connect_timeout, response_timeout, schema_type, schema,
// status, last_connect, last_sent, last_sent_uuid.
//
// GET /ws/v1/monitors/history/{id}?start_time=…&end_time=…&size=…&cursor=…
// returns the stored events of a persistent or polling monitor, a page at a
// time by cursor. Its field names are not documented: the decoder is
// tolerant, and tested against the simulator's choice.
//
// # §7 HTTP transport
//
// The server PUTs (or POSTs) each block to monTransportUrl, with Basic
// authentication from monTransportToken and any monTransportHeaders; the
// body is the event document (§4). A 2xx answer means delivered; anything
// else is retried (about every 16 minutes for 24 hours), after which the
// monitor becomes DISABLED. An empty or null Document is a keep-alive, to be
// answered 200. The real service refuses localhost URLs.
//
// # §8 Limits and defaults
//
// Ports 3200 (plain) and 3201 (TLS); protocol version 1; blocks of 100
// events or 10 s by default, and never more than 65 535 (Count is 16
// bits), each valid Msg taking at least 19 bytes of JSON (25 of XML), so
// a client can bound a document's events by its size; FileData over
// 120 KB not pushed; REST
// throttling answers 429. The server documents no timeouts: a client must
// not take a quiet connection for a dead one, but it bounds the time to
// read one frame once its first byte has arrived (a trickle must not hold
// a client forever).
package protocol
