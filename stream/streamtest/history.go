package streamtest

// Stored events of polling and persistent monitors, and the history API
// GET /ws/v1/monitors/history/{id} (protocol package documentation §6). Its answer's shape is
// not documented; this simulator's choice is
//
//	{"count":2,"size":2,"cursor":"…","next_uri":"/ws/v1/monitors/history/ID?size=2&cursor=…",
//	 "list":[{"id":"17","timestamp":"2025-01-01T00:00:00.000Z","topic":"1234/DataPoint/dev1/temp",
//	          "operation":"INSERTION","DataPoint":{…}}, …]}
//
// Records are ordered by event timestamp, then by arrival. start_time
// (inclusive) and end_time (exclusive) filter on the event timestamp and
// take ISO-8601 or epoch milliseconds; size is 1…1000 (default 1000);
// "cursor" (and "next_uri") are present only when more records follow, and
// the cursor continues after the last record of the page even if records
// arrive meanwhile. Each record's "id" is its arrival number.
//
// An event published with an older timestamp than events already stored
// (a device uploading what it buffered while offline) is stored in its
// place by timestamp: a client that read the history before it was stored
// finds it only by reading that time range again.
//
// A handlebars monitor's records are its template's output for each event,
// stored as a string with the record's id and the event's timestamp beside
// it: {"id":"17","timestamp":"…","Document":"<rendered text>"}. The
// rendered text carries no timestamp of its own.

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// histRecord is one stored event.
type histRecord struct {
	seq uint64
	at  time.Time // the event's timestamp: the ordering key with seq
	ev  *rendered
}

func (r *histRecord) before(at time.Time, seq uint64) bool {
	return r.at.Before(at) || r.at.Equal(at) && r.seq < seq
}

// historyLog is a monitor's stored events, sorted by (at, seq). Guarded by
// the monitor's mutex.
type historyLog struct {
	recs []histRecord
	seq  uint64
}

// add stores ev, dropping the oldest records beyond limit (kept: limit to
// limit+limit/8 records).
func (h *historyLog) add(ev *rendered, limit int) {
	h.seq++
	r := histRecord{seq: h.seq, at: ev.ev.Timestamp, ev: ev}
	i := len(h.recs)
	if i > 0 && !h.recs[i-1].before(r.at, r.seq) {
		i, _ = slices.BinarySearchFunc(h.recs, r, func(a, b histRecord) int {
			if a.before(b.at, b.seq) {
				return -1
			}
			return 1
		})
	}
	h.recs = slices.Insert(h.recs, i, r)
	// Trim in steps of an eighth of the limit, so that a full log costs
	// amortised O(1) per event rather than a copy of the whole log.
	if len(h.recs) > limit+limit/8 {
		h.recs = slices.Delete(h.recs, 0, len(h.recs)-limit)
	}
}

// keepsHistoryLocked reports whether m stores the events it matches for
// the history API: polling and persistent monitors do (enqueue stores
// them). m.mu must be held.
func (m *monitor) keepsHistoryLocked() bool {
	return m.spec.Transport == "polling" || m.spec.Persistent
}

// History returns the events monitor id has stored, in history order (for
// tests; the REST API serves them as JSON). Each Event's Body is the one
// that was published, shared, not copied: treat it as read-only.
func (s *Server) History(id uint32) []Event {
	m := s.lookup(id)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Event, len(m.x.hist.recs))
	for i, r := range m.x.hist.recs {
		out[i] = r.ev.ev
	}
	return out
}

// parseHistoryTime reads start_time/end_time: ISO-8601 or epoch ms.
func parseHistoryTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// cursor encodes the position after a record: "<unix s base 36>.<ns base
// 36>.<seq base 36>". Seconds and nanoseconds apart: a time after 2262 or
// before 1678 (a device's clock gone wrong) has no Unix nanosecond count.
func historyCursor(r *histRecord) string {
	return strconv.FormatInt(r.at.Unix(), 36) + "." + strconv.FormatInt(int64(r.at.Nanosecond()), 36) + "." +
		strconv.FormatUint(r.seq, 36)
}

func parseHistoryCursor(c string) (time.Time, uint64, bool) {
	parts := strings.Split(c, ".")
	if len(parts) != 3 {
		return time.Time{}, 0, false
	}
	sec, err1 := strconv.ParseInt(parts[0], 36, 64)
	ns, err2 := strconv.ParseInt(parts[1], 36, 64)
	seq, err3 := strconv.ParseUint(parts[2], 36, 64)
	if err1 != nil || err2 != nil || err3 != nil || ns < 0 || ns >= 1e9 {
		return time.Time{}, 0, false
	}
	return time.Unix(sec, ns).UTC(), seq, true
}

func (s *Server) v1History(w http.ResponseWriter, r *http.Request, m *monitor) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeV1Error(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	q := r.URL.Query()
	start, ok1 := parseHistoryTime(q.Get("start_time"))
	end, ok2 := parseHistoryTime(q.Get("end_time"))
	if !ok1 || !ok2 {
		writeV1Error(w, http.StatusBadRequest, "Invalid start_time or end_time")
		return
	}
	size, ok := v1Size(w, q)
	if !ok {
		return
	}
	var afterAt time.Time
	var afterSeq uint64
	hasCursor := false
	if c := q.Get("cursor"); c != "" {
		if afterAt, afterSeq, hasCursor = parseHistoryCursor(c); !hasCursor {
			writeV1Error(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
	}
	m.mu.Lock()
	tmpl := m.templateLocked()
	if !m.keepsHistoryLocked() {
		m.mu.Unlock()
		writeV1Error(w, http.StatusBadRequest, "Monitor "+strconv.FormatUint(uint64(m.id), 10)+" is neither polling nor persistent")
		return
	}
	recs := m.x.hist.recs
	i := 0
	if hasCursor {
		i, _ = slices.BinarySearchFunc(recs, histRecord{at: afterAt, seq: afterSeq}, func(a, b histRecord) int {
			if a.before(b.at, b.seq) || a.at.Equal(b.at) && a.seq == b.seq {
				return -1
			}
			return 1
		})
	}
	var page []histRecord
	more := false
	for ; i < len(recs); i++ {
		rec := &recs[i]
		if !end.IsZero() && !rec.at.Before(end) {
			break
		}
		if rec.at.Before(start) {
			continue
		}
		if len(page) == size {
			more = true
			break
		}
		page = append(page, *rec)
	}
	m.mu.Unlock()

	cursor := ""
	if more {
		cursor = historyCursor(&page[len(page)-1])
	}
	b := v1PageStart(r, len(page), size, cursor)
	for i, rec := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, strconv.FormatUint(rec.seq, 10))
		b = append(b, ',')
		if tmpl != nil {
			items := []qitem{{ev: rec.ev, at: rec.at}}
			doc, err := renderTemplate(nil, tmpl, items)
			if err != nil {
				// Over the rendering budget: the standard document, as
				// a push sends it.
				s.logf("streamtest: monitor %d: template failed, the history holds the standard document: %v", m.id, err)
				doc = appendDocument(nil, false, items)
			}
			b = append(b, `"timestamp":`...)
			b = appendJSONString(b, rec.ev.tsText)
			b = append(b, `,"Document":`...)
			b = appendJSONString(b, string(doc))
			b = append(b, '}')
			continue
		}
		b = append(b, rec.ev.jhead[1:]...) // without its '{'
		b = append(b, rec.ev.jtail...)
	}
	b = append(b, "]}"...)
	writeV1(w, http.StatusOK, b)
}
