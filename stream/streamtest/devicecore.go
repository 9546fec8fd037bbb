package streamtest

import (
	"net/http"
	"strconv"
	"strings"
)

// GET /ws/DeviceCore lists the account's devices, as the service does;
// clients call it to check credentials. A request without valid Basic
// auth gets 401 (admit). The devices are those of the Generator of the
// last Generate call (before any, the default Generator's five), with the
// attributes that do not change as it runs; XML by default, JSON with
// "Accept: application/json" or a ".json" suffix; paged with start and
// size like /ws/Monitor.

// setDevices records the devices GET /ws/DeviceCore lists.
func (s *Server) setDevices(devs []*genDevice) {
	s.mu.Lock()
	s.devices = devs
	s.mu.Unlock()
}

func (s *Server) serveDeviceCore(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, writeError) {
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/ws/DeviceCore"), "/")
	asJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	switch rest {
	case "", ".xml":
	case ".json":
		asJSON = true
	default:
		writeError(w, http.StatusNotFound, r.Method+" DeviceCore error. "+rest+" not found")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, r.Method+" DeviceCore error. Method not allowed")
		return
	}
	start, size, ok := listPage(w, r, "DeviceCore")
	if !ok {
		return
	}
	rows := s.deviceRows()
	lo := min(start, len(rows))
	page := rows[lo : lo+min(size, len(rows)-lo)]
	writeList(w, asJSON, "DeviceCore", len(rows), start, size, page)
}

// deviceRows renders the listed devices.
func (s *Server) deviceRows() [][]kv {
	s.mu.Lock()
	devs := s.devices
	s.mu.Unlock()
	if devs == nil {
		g, _ := Generator{CustomerID: s.cst}.normalize()
		devs = newGenState(g).devs
	}
	cst := strconv.FormatUint(uint64(s.cst), 10)
	rows := make([][]kv, len(devs))
	for i, d := range devs {
		rows[i] = []kv{
			{"id/devId", strconv.Itoa(d.devID)},
			{"id/devVersion", "0"},
			{"devConnectwareId", d.connectwareID},
			{"devMac", d.mac},
			{"cstId", cst},
			{"grpId", cst},
			{"grpPath", ""},
			{"dpDeviceType", "ConnectPort X4"},
			{"dpFirmwareLevel", "34209795"},
			{"dpLastKnownIp", d.ip},
			{"dpDescription", d.name},
			{"dpMapLat", strconv.FormatFloat(d.lat, 'f', -1, 64)},
			{"dpMapLong", strconv.FormatFloat(d.long, 'f', -1, 64)},
			{"dpTags", "demo"},
		}
	}
	return rows
}
