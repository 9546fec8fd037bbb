package streamtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pushmon/pushmon/protocol"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// offline returns options with no listeners, for tests that use ServeConn
// (and testing/synctest).
func offline() Options { return Options{HTTPAddr: "-", PushAddr: "-", PushTLSAddr: "-"} }

// rawClient is a minimal push client written directly on package protocol.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	rd  *protocol.Reader
	inf *protocol.Inflater
}

func newRawClient(t testing.TB, c net.Conn) *rawClient {
	return &rawClient{t: t, c: c, rd: protocol.NewReader(c, protocol.ReaderOptions{}), inf: protocol.NewInflater(0)}
}

// pipeClient serves one end of a net.Pipe on s and returns a client on the
// other. The caller closes it (or the server does).
func pipeClient(t testing.TB, s *Server) *rawClient {
	a, b := net.Pipe()
	s.ServeConn(a)
	return newRawClient(t, b)
}

func (rc *rawClient) Close() { rc.c.Close() }

// connect sends a ConnectRequest and returns the response status.
func (rc *rawClient) connect(user, pass string, id uint32) (protocol.Status, error) {
	frame, err := protocol.AppendConnectRequest(nil, user, pass, id)
	if err != nil {
		return 0, err
	}
	if _, err := rc.c.Write(frame); err != nil {
		return 0, err
	}
	f, err := rc.rd.ReadFrame()
	if err != nil {
		return 0, err
	}
	if f.Type != protocol.TypeConnectResponse {
		return 0, fmt.Errorf("got %v, want a ConnectResponse", f.Type)
	}
	resp, err := protocol.ParseConnectResponse(f.Payload)
	if err != nil {
		return 0, err
	}
	if resp.Version != protocol.Version {
		return 0, fmt.Errorf("response version %d", resp.Version)
	}
	return resp.Status, nil
}

// mustConnect connects with the default credentials and fails the test
// unless the answer is 200.
func (rc *rawClient) mustConnect(id uint32) {
	rc.t.Helper()
	st, err := rc.connect("user", "password", id)
	if err != nil || st != protocol.StatusOK {
		rc.t.Fatalf("connect to %d: status %v, err %v", id, st, err)
	}
}

// msg is one decoded event of a block.
type msg struct {
	Topic, Operation, Timestamp, Group string
	Replay                             bool
	Resource                           string
	Body                               map[string]any // JSON documents only
	Inner                              string         // XML documents only: the resource element
}

type gotBlock struct {
	ID          uint16
	Count       uint16
	Compression protocol.Compression
	Format      protocol.Format
	Doc         []byte // decompressed, owned
	Msgs        []msg
	MsgIsArray  bool // JSON: Msg was an array
}

// readBlock reads and decodes one PublishMessage.
func (rc *rawClient) readBlock() (gotBlock, error) {
	f, err := rc.rd.ReadFrame()
	if err != nil {
		return gotBlock{}, err
	}
	if f.Type != protocol.TypePublishMessage {
		return gotBlock{}, fmt.Errorf("got %v, want a PublishMessage", f.Type)
	}
	pm, err := protocol.ParsePublishMessage(f.Payload)
	if err != nil {
		return gotBlock{}, err
	}
	b := gotBlock{ID: pm.DataBlockID, Count: pm.Count, Compression: pm.Compression, Format: pm.Format}
	doc := pm.Payload
	if pm.Compression == protocol.CompressionZlib {
		if doc, err = rc.inf.Inflate(doc); err != nil {
			return b, err
		}
	}
	b.Doc = bytes.Clone(doc)
	if pm.Format == protocol.FormatJSON {
		b.Msgs, b.MsgIsArray, err = decodeJSONDoc(b.Doc)
	} else {
		b.Msgs, err = decodeXMLDoc(b.Doc)
	}
	if err == nil && len(b.Msgs) != int(b.Count) {
		err = fmt.Errorf("Count %d but %d messages", b.Count, len(b.Msgs))
	}
	return b, err
}

func (rc *rawClient) mustBlock() gotBlock {
	rc.t.Helper()
	b, err := rc.readBlock()
	if err != nil {
		rc.t.Fatalf("reading a block: %v", err)
	}
	return b
}

func (rc *rawClient) ack(id uint16) {
	rc.t.Helper()
	if _, err := rc.c.Write(protocol.AppendAck(nil, id)); err != nil {
		rc.t.Fatalf("ack %d: %v", id, err)
	}
}

// pump reads blocks on a goroutine until the connection fails; the
// channel closes then. The caller must make the connection end.
func (rc *rawClient) pump() <-chan gotBlock {
	ch := make(chan gotBlock, 1000)
	go func() {
		defer close(ch)
		for {
			b, err := rc.readBlock()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
					var ne net.Error
					if !errors.As(err, &ne) {
						rc.t.Errorf("pump: %v", err)
					}
				}
				return
			}
			ch <- b
		}
	}()
	return ch
}

func decodeJSONDoc(doc []byte) ([]msg, bool, error) {
	var d struct {
		Document struct {
			Msg json.RawMessage
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, false, fmt.Errorf("document: %w in %s", err, doc)
	}
	var raws []map[string]json.RawMessage
	isArray := bytes.HasPrefix(bytes.TrimSpace(d.Document.Msg), []byte("["))
	if isArray {
		if err := json.Unmarshal(d.Document.Msg, &raws); err != nil {
			return nil, true, err
		}
	} else {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(d.Document.Msg, &one); err != nil {
			return nil, false, err
		}
		raws = append(raws, one)
	}
	var out []msg
	for _, r := range raws {
		var m msg
		for k, v := range r {
			var err error
			switch k {
			case "topic":
				err = json.Unmarshal(v, &m.Topic)
			case "operation":
				err = json.Unmarshal(v, &m.Operation)
			case "timestamp":
				err = json.Unmarshal(v, &m.Timestamp)
			case "group":
				err = json.Unmarshal(v, &m.Group)
			case "replay":
				err = json.Unmarshal(v, &m.Replay)
			default:
				if m.Resource != "" {
					return nil, isArray, fmt.Errorf("two resources %q and %q", m.Resource, k)
				}
				m.Resource = k
				err = json.Unmarshal(v, &m.Body)
			}
			if err != nil {
				return nil, isArray, fmt.Errorf("field %s: %w", k, err)
			}
		}
		out = append(out, m)
	}
	return out, isArray, nil
}

func decodeXMLDoc(doc []byte) ([]msg, error) {
	var d struct {
		XMLName xml.Name `xml:"Document"`
		Msgs    []struct {
			Topic     string `xml:"topic,attr"`
			Operation string `xml:"operation,attr"`
			Timestamp string `xml:"timestamp,attr"`
			Group     string `xml:"group,attr"`
			Replay    string `xml:"replay,attr"`
			Inner     []byte `xml:",innerxml"`
		} `xml:"Msg"`
	}
	if err := xml.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("document: %w in %s", err, doc)
	}
	var out []msg
	for _, x := range d.Msgs {
		m := msg{Topic: x.Topic, Operation: x.Operation, Timestamp: x.Timestamp, Group: x.Group,
			Replay: x.Replay == "true", Inner: string(x.Inner)}
		dec := xml.NewDecoder(bytes.NewReader(x.Inner))
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("resource of %s: %v", x.Topic, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				m.Resource = se.Name.Local
				break
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// expectNoBlock fails if a block is waiting in ch.
func expectNoBlock(t *testing.T, ch <-chan gotBlock, why string) {
	t.Helper()
	select {
	case b, ok := <-ch:
		if ok {
			t.Fatalf("%s: unexpected block %d with %d events", why, b.ID, b.Count)
		}
	default:
	}
}

// recv takes one block from ch or fails.
func recv(t *testing.T, ch <-chan gotBlock) gotBlock {
	t.Helper()
	select {
	case b, ok := <-ch:
		if !ok {
			t.Fatal("connection closed, want a block")
		}
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no block within 10 s")
	}
	return gotBlock{}
}

// dp returns a DataPoint event on stream dev/stream with value v.
func dp(dev, stream string, v float64) Event {
	return Event{
		Topic:     "DataPoint/" + dev + "/" + stream,
		Operation: "INSERTION",
		Body:      map[string]any{"streamId": dev + "/" + stream, "data": v},
	}
}

// vectorsDir is the protocol package's folder of bytes captured from the
// real server.
func vectorsDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "protocol", "testdata", "vectors")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("test vectors: %v", err)
	}
	return dir
}

func ackFrame(id uint16) []byte { return protocol.AppendAck(nil, id) }
