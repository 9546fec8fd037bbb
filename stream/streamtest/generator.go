package streamtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Generator describes synthetic traffic for demos and load tests: a fleet
// of devices that connect and disconnect (DeviceCore UPDATE), report data
// points (DataPoint INSERTION) and upload small files (FileData
// INSERTION), with the resource shapes of the protocol package documentation §4.
//
// The events' content is a pure function of the Generator and the
// timestamps: the same Seed gives the same devices, values, ids and file
// contents in the same order.
type Generator struct {
	Devices int     // number of devices; 0 means 5
	Rate    float64 // events per second; 0 means 10
	Seed    int64
	// CustomerID is the cstId in bodies; 0 means the Server's for
	// Generate and DefaultCustomerID for Events.
	CustomerID uint32
}

func (g Generator) normalize() (Generator, error) {
	if g.Devices < 0 || g.Devices > 1_000_000 {
		return g, fmt.Errorf("%w: Devices %d outside 0…1000000", ErrInvalidGenerator, g.Devices)
	}
	if g.Rate < 0 || math.IsNaN(g.Rate) || math.IsInf(g.Rate, 0) || g.Rate > 1e7 {
		return g, fmt.Errorf("%w: Rate %v outside 0…1e7", ErrInvalidGenerator, g.Rate)
	}
	if g.Devices == 0 {
		g.Devices = 5
	}
	if g.Rate == 0 {
		g.Rate = 10
	}
	if g.CustomerID == 0 {
		g.CustomerID = DefaultCustomerID
	}
	return g, nil
}

// Events returns the first n events the Generator produces, timestamped
// start, start+1/Rate, start+2/Rate, … It does not need a Server.
func (g Generator) Events(n int, start time.Time) ([]Event, error) {
	g, err := g.normalize()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: negative event count", ErrInvalidGenerator)
	}
	st := newGenState(g)
	out := make([]Event, n)
	for i := range out {
		out[i] = st.next(g.at(start, i))
	}
	return out, nil
}

// at returns the timestamp of event i.
func (g Generator) at(start time.Time, i int) time.Time {
	return start.Add(time.Duration(float64(i) / g.Rate * float64(time.Second)))
}

// Generate publishes synthetic traffic at g.Rate until ctx ends (then it
// returns nil) or the Server closes (ErrServerClosed). It blocks: run it
// on a goroutine of your own. An invalid g returns an error matching
// ErrInvalidGenerator at once.
func (s *Server) Generate(ctx context.Context, g Generator) error {
	if g.CustomerID == 0 {
		g.CustomerID = s.cst
	}
	g, err := g.normalize()
	if err != nil {
		return err
	}
	st := newGenState(g)
	s.setDevices(st.devs) // devicecore.go
	start := time.Now()
	emitted := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return ErrServerClosed
		case <-timer.C:
		}
		now := time.Now()
		due := int(now.Sub(start).Seconds()*g.Rate) + 1 - emitted
		if limit := int(g.Rate) + 1; due > limit {
			// Fell behind (a stalled process): skip rather than burst.
			emitted += due - limit
			due = limit
		}
		if due > 0 {
			batch := make([]Event, due)
			for i := range batch {
				batch[i] = st.next(g.at(start, emitted+i))
			}
			emitted += due
			s.Publish(batch...)
		}
		wait := g.at(start, emitted).Sub(time.Now())
		timer.Reset(max(wait, time.Millisecond))
	}
}

// genDevice is one simulated device.
type genDevice struct {
	name           string // "dev3"
	devID          int
	connectwareID  string
	mac            string
	ip             string
	lat, long      float64
	connected      bool
	lastConnect    time.Time
	lastDisconnect time.Time
	created        time.Time
	temp           float64
	hum            float64
	battery        float64
}

type genState struct {
	g    Generator
	rng  *rand.Rand
	devs []*genDevice
	seq  int
}

var genStreams = []struct{ name, units string }{
	{"temperature", "C"}, {"humidity", "%"}, {"battery", "%"},
}

func newGenState(g Generator) *genState {
	seed := uint64(g.Seed)
	st := &genState{g: g, rng: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))}
	for i := range g.Devices {
		serial := st.rng.Uint32() & 0xFFFFFF
		st.devs = append(st.devs, &genDevice{
			name:          "dev" + strconv.Itoa(i+1),
			devID:         1000 + i,
			connectwareID: fmt.Sprintf("00000000-00000000-00409DFF-FF%06X", serial),
			mac:           fmt.Sprintf("00:40:9D:%02X:%02X:%02X", serial>>16, serial>>8&0xFF, serial&0xFF),
			ip:            fmt.Sprintf("10.%d.%d.%d", st.rng.IntN(256), st.rng.IntN(256), 1+st.rng.IntN(254)),
			lat:           round(44+st.rng.Float64()*4, 5),
			long:          round(-93-st.rng.Float64()*4, 5),
			temp:          18 + st.rng.Float64()*6,
			hum:           35 + st.rng.Float64()*20,
			battery:       80 + st.rng.Float64()*20,
		})
	}
	return st
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func epochMS(t time.Time) int64 { return t.UnixMilli() }

func (st *genState) uuid() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := st.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0F | 0x40
	b[8] = b[8]&0x3F | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// next returns the next event, timestamped ts.
func (st *genState) next(ts time.Time) Event {
	ts = ts.UTC()
	st.seq++
	var connected []*genDevice
	for _, d := range st.devs {
		if d.connected {
			connected = append(connected, d)
		}
	}
	r := st.rng.Float64()
	switch {
	case len(connected) == 0 || r < 0.15:
		return st.toggle(st.devs[st.rng.IntN(len(st.devs))], ts)
	case r < 0.9:
		return st.dataPoint(connected[st.rng.IntN(len(connected))], ts)
	default:
		return st.file(connected[st.rng.IntN(len(connected))], ts)
	}
}

func (st *genState) toggle(d *genDevice, ts time.Time) Event {
	if d.created.IsZero() {
		d.created = ts.Add(-time.Duration(1+st.rng.IntN(1000)) * time.Hour).Truncate(time.Second)
	}
	d.connected = !d.connected
	status := 0
	if d.connected {
		status = 1
		d.lastConnect = ts
	} else {
		d.lastDisconnect = ts
	}
	fmtTS := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.Format(timestampLayout)
	}
	cst := int64(st.g.CustomerID)
	body := map[string]any{
		"id":                    map[string]any{"devId": d.devID, "devVersion": 0},
		"devConnectwareId":      d.connectwareID,
		"devMac":                d.mac,
		"cstId":                 cst,
		"grpId":                 cst,
		"grpPath":               "",
		"dpConnectionStatus":    status,
		"dpDeviceType":          "ConnectPort X4",
		"dpFirmwareLevel":       34209795,
		"dpFirmwareLevelDesc":   "2.10.0.3",
		"dpLastKnownIp":         d.ip,
		"dpGlobalIp":            "203.0.113." + strconv.Itoa(d.devID%250+1),
		"dpLastConnectTime":     fmtTS(d.lastConnect),
		"dpLastDisconnectTime":  fmtTS(d.lastDisconnect),
		"dpDescription":         d.name,
		"dpContact":             "",
		"dpLocation":            "",
		"dpMapLat":              d.lat,
		"dpMapLong":             d.long,
		"dpTags":                "demo",
		"dpRestrictedStatus":    0,
		"dpCapabilities":        68178,
		"dvVendorId":            int64(4261412864),
		"devRecordStartDate":    d.created.Format(timestampLayout),
		"devEffectiveStartDate": d.created.Format(timestampLayout),
		"devTerminated":         false,
	}
	return Event{
		Topic:     "DeviceCore/" + strconv.Itoa(d.devID) + "/0",
		Operation: "UPDATE",
		Timestamp: ts,
		Body:      body,
	}
}

func (st *genState) dataPoint(d *genDevice, ts time.Time) Event {
	s := genStreams[st.rng.IntN(len(genStreams))]
	var v float64
	switch s.name {
	case "temperature":
		d.temp += st.rng.NormFloat64() * 0.3
		v = round(d.temp, 2)
	case "humidity":
		d.hum = min(max(d.hum+st.rng.NormFloat64(), 0), 100)
		v = round(d.hum, 1)
	default:
		d.battery = max(d.battery-st.rng.Float64()*0.05, 0)
		v = round(d.battery, 2)
	}
	streamID := d.name + "/" + s.name
	ms := epochMS(ts)
	body := map[string]any{
		"id":              st.uuid(),
		"cstId":           int64(st.g.CustomerID),
		"streamId":        streamID,
		"data":            v,
		"description":     "",
		"quality":         0,
		"timestamp":       ms,
		"serverTimestamp": ms + int64(st.rng.IntN(50)),
		"streamUnits":     s.units,
		"streamType":      "DOUBLE",
	}
	return Event{Topic: "DataPoint/" + streamID, Operation: "INSERTION", Timestamp: ts, Body: body}
}

func (st *genState) file(d *genDevice, ts time.Time) Event {
	content := fmt.Sprintf(`{"device":%q,"seq":%d,"uptime":%d,"temperature":%.2f}`,
		d.name, st.seq, int(ts.Sub(d.lastConnect).Seconds()), d.temp)
	fdPath := "/db/CUS" + strconv.FormatUint(uint64(st.g.CustomerID), 10) + "_demo/" + d.connectwareID + "/"
	fdName := "status-" + strconv.Itoa(st.seq) + ".json"
	stamp := ts.Format(timestampLayout)
	body := map[string]any{
		"id":                 map[string]any{"fdPath": fdPath, "fdName": fdName},
		"cstId":              int64(st.g.CustomerID),
		"fdData":             base64.StdEncoding.EncodeToString([]byte(content)),
		"fdSize":             len(content),
		"fdContentType":      "application/json",
		"fdType":             "file",
		"fdArchive":          false,
		"fdCreatedDate":      stamp,
		"fdLastModifiedDate": stamp,
	}
	return Event{Topic: "FileData" + fdPath + fdName, Operation: "INSERTION", Timestamp: ts, Body: body}
}
