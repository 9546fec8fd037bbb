package pushserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Dataset is what a connection streams, chosen by the client through the
// MonitorID of its ConnectRequest (see ID).
type Dataset struct {
	Events      int  // events per frame, 1…65535
	Zlib        bool // compress each document
	StopAndWait bool // send the next frame only after the previous one's ack
}

// ID encodes the dataset as a monitor id.
func (d Dataset) ID() uint32 {
	id := uint32(d.Events)
	if d.Zlib {
		id |= 1 << 16
	}
	if d.StopAndWait {
		id |= 1 << 17
	}
	return id
}

// DatasetFromID decodes a monitor id made by Dataset.ID.
func DatasetFromID(id uint32) (Dataset, error) {
	d := Dataset{Events: int(id & 0xFFFF), Zlib: id&(1<<16) != 0, StopAndWait: id&(1<<17) != 0}
	if id>>18 != 0 {
		return d, fmt.Errorf("pushserver: monitor id %#x is not a dataset", id)
	}
	return d, d.Validate()
}

// Validate reports whether d can be built.
func (d Dataset) Validate() error {
	if d.Events < 1 || d.Events > 0xFFFF {
		return fmt.Errorf("pushserver: %d events per frame", d.Events)
	}
	return nil
}

// String names the dataset, e.g. "14ev", "100ev-zlib", "1ev-stopwait".
func (d Dataset) String() string {
	s := fmt.Sprintf("%dev", d.Events)
	if d.Zlib {
		s += "-zlib"
	}
	if d.StopAndWait {
		s += "-stopwait"
	}
	return s
}

// Report is what the server tells about one finished connection.
type Report struct {
	Tag      string `json:"tag"`      // the ConnectRequest's user name
	Dataset  string `json:"dataset"`  // Dataset.String
	Frames   uint64 `json:"frames"`   // PublishMessages written in full
	Acks     uint64 `json:"acks"`     // acks received, each naming the expected block
	BadAcks  uint64 `json:"bad_acks"` // acks out of order or with a status other than 200
	AckReads uint64 `json:"ack_reads"`
	Err      string `json:"err,omitempty"` // why the connection ended, if not a plain close
}

// server streams frame sets to every connection it accepts.
type server struct {
	mu   sync.Mutex
	sets map[Dataset]*FrameSet
	out  func(Report)
	wg   sync.WaitGroup
}

func (s *server) frameSet(d Dataset) (*FrameSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := d
	base.StopAndWait = false
	fs := s.sets[base]
	if fs == nil {
		var err error
		if fs, err = BuildFrameSet(base); err != nil {
			return nil, err
		}
		s.sets[base] = fs
	}
	return fs, nil
}

func (s *server) accept(ln net.Listener, cfg *tls.Config) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			counted := &countingConn{Conn: c}
			var conn net.Conn = counted
			if cfg != nil {
				conn = tls.Server(counted, cfg)
			}
			s.out(s.serve(conn, counted))
			conn.Close()
		}()
	}
}

// countingConn counts the reads that returned data: with the client's
// acks as the only traffic towards the server, that is (at most) the
// number of writes the client made.
type countingConn struct {
	net.Conn
	reads atomic.Uint64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

// serve runs one connection: handshake, then streaming or stop-and-wait.
func (s *server) serve(c net.Conn, counted *countingConn) (rep Report) {
	c.SetDeadline(time.Now().Add(3 * time.Minute)) // a bound on a client that never speaks, not a measure
	r := protocol.NewReader(c, protocol.ReaderOptions{Side: protocol.ServerSide})
	f, err := r.ReadFrame()
	if err != nil {
		rep.Err = "handshake: " + err.Error()
		return rep
	}
	req, err := protocol.ParseConnectRequest(f.Payload)
	if err != nil {
		rep.Err = "handshake: " + err.Error()
		return rep
	}
	rep.Tag = string(req.Username)
	d, err := DatasetFromID(req.MonitorID)
	var fs *FrameSet
	if err == nil {
		fs, err = s.frameSet(d)
	}
	if err != nil {
		c.Write(protocol.AppendConnectResponse(nil, protocol.StatusBadRequest))
		rep.Err = err.Error()
		return rep
	}
	rep.Dataset = d.String()
	if _, err := c.Write(protocol.AppendConnectResponse(nil, protocol.StatusOK)); err != nil {
		rep.Err = err.Error()
		return rep
	}
	c.SetDeadline(time.Time{})
	fs = fs.Clone()
	ackReads0 := counted.reads.Load()
	defer func() { rep.AckReads = counted.reads.Load() - ackReads0 }()

	if d.StopAndWait {
		err = stopAndWait(c, r, fs, &rep)
	} else {
		err = stream(c, r, fs, &rep)
	}
	if err != nil && !isClosed(err) {
		rep.Err = err.Error()
	}
	return rep
}

// checkAck counts one ack frame, expected to name block want.
func checkAck(f protocol.Frame, want uint16, rep *Report) {
	a, err := protocol.ParseAck(f.Payload)
	if err != nil || a.DataBlockID != want || a.Status != protocol.StatusOK {
		rep.BadAcks++
		return
	}
	rep.Acks++
}

// stopAndWait sends one frame, waits for its ack, and so on.
func stopAndWait(c net.Conn, r *protocol.Reader, fs *FrameSet, rep *Report) error {
	var seq uint64
	for i := 0; ; i = (i + 1) % fs.Frames() {
		id := uint16(rep.Frames)
		if _, err := c.Write(fs.Patch(i, id, seq)); err != nil {
			return err
		}
		rep.Frames++
		seq += uint64(fs.Dataset.Events)
		f, err := r.ReadFrame()
		if err != nil {
			return err
		}
		checkAck(f, id, rep)
	}
}

// stream writes frames in writes of about 64 KiB for as long as the
// client reads them, while a second goroutine counts the acks.
func stream(c net.Conn, r *protocol.Reader, fs *FrameSet, rep *Report) error {
	type acked struct {
		rep Report // Acks and BadAcks
		err error  // why the reading ended
	}
	done := make(chan acked, 1)
	go func() {
		var ar Report
		for want := uint16(0); ; want++ {
			f, err := r.ReadFrame()
			if err != nil {
				// The client has stopped acking (a half-close after its
				// last acks, or a failure): stop the writer too, so that
				// a client draining the connection sees it end.
				c.Close()
				done <- acked{ar, err}
				return
			}
			checkAck(f, want, &ar)
		}
	}()
	var seq uint64
	var werr error
	n := fs.Frames()
	for i := 0; werr == nil; {
		start := i
		for i < n && (i == start || fs.Starts[i+1]-fs.Starts[start] <= 64<<10) {
			fs.Patch(i, uint16(rep.Frames+uint64(i-start)), seq)
			seq += uint64(fs.Dataset.Events)
			i++
		}
		var wrote int
		wrote, werr = c.Write(fs.Buf[fs.Starts[start]:fs.Starts[i]])
		// A failed write may still have sent some frames whole, which the
		// client may have acked: count every frame written in full.
		for j := start; j < i && fs.Starts[j+1]-fs.Starts[start] <= wrote; j++ {
			rep.Frames++
		}
		if i == n {
			i = 0
		}
	}
	// The client has gone, or the ack reader has closed the connection
	// (see above). The ack reader ends at EOF or at the close.
	c.Close()
	a := <-done
	rep.Acks, rep.BadAcks = a.rep.Acks, a.rep.BadAcks
	if isClosed(werr) && !isClosed(a.err) {
		return a.err
	}
	return werr
}

// isClosed reports whether err only says that the client went away: EOF,
// a reset, a broken pipe, a stream ended inside a frame, or the conn
// closed here once the client had gone.
func isClosed(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, protocol.ErrTruncated)
}
