package stream

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeHistory is a history API of its own, independent of streamtest's:
// records ordered by (time, arrival), start_time inclusive on the record
// time, a key cursor ("after this record") or, with offsets, a cursor that
// is an index into the filtered list (which shifts when records are
// stored or deleted between pages), and a Date header from clock.
type fakeHistory struct {
	mu      sync.Mutex
	recs    []fakeRec
	seq     int
	offsets bool                                              // cursor is an index
	clock   func() time.Time                                  // the Date header; nil: none
	hook    func(w http.ResponseWriter, r *http.Request) bool // answers instead when it returns true
	queries []string
}

type fakeRec struct {
	ms   int64
	seq  int
	body string
}

// add stores DataPoint dp-<i> stamped at ms, in its place by time.
func (f *fakeHistory) add(i int, ts time.Time) {
	f.addStamp(i, ts, ts.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// addStamp stores DataPoint dp-<i> at ts, its timestamp written as stamp.
func (f *fakeHistory) addStamp(i int, ts time.Time, stamp string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	r := fakeRec{ms: ts.UnixMilli(), seq: f.seq}
	r.body = fmt.Sprintf(`{"id":"%d","timestamp":"%s","topic":"1/DataPoint/dev/t","operation":"INSERTION","DataPoint":{"id":"dp-%05d","data":%d}}`,
		f.seq, stamp, i, i)
	k, _ := slices.BinarySearchFunc(f.recs, r, func(a, b fakeRec) int {
		if a.ms < b.ms || a.ms == b.ms && a.seq < b.seq {
			return -1
		}
		return 1
	})
	f.recs = slices.Insert(f.recs, k, r)
}

// remove deletes the stored DataPoint dp-<i>.
func (f *fakeHistory) remove(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf(`"dp-%05d"`, i)
	f.recs = slices.DeleteFunc(f.recs, func(r fakeRec) bool { return strings.Contains(r.body, id) })
}

func (f *fakeHistory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	hook, clock := f.hook, f.clock
	f.mu.Unlock()
	if clock != nil {
		w.Header().Set("Date", clock().UTC().Format(http.TimeFormat))
	}
	if hook != nil && hook(w, r) {
		return
	}
	q := r.URL.Query()
	start := int64(-1 << 62)
	if s := q.Get("start_time"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			http.Error(w, `{"error_message":"bad start_time"}`, http.StatusBadRequest)
			return
		}
		start = t.UnixMilli()
	}
	size, _ := strconv.Atoi(q.Get("size"))
	if size <= 0 || size > 1000 {
		size = 1000
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []fakeRec
	for _, rec := range f.recs {
		if rec.ms >= start {
			list = append(list, rec)
		}
	}
	if c := q.Get("cursor"); c != "" {
		switch {
		case f.offsets && strings.HasPrefix(c, "o"):
			n, err := strconv.Atoi(c[1:])
			if err != nil || n > len(list) {
				http.Error(w, `{"error_message":"bad cursor"}`, http.StatusBadRequest)
				return
			}
			list = list[n:]
		case !f.offsets && strings.HasPrefix(c, "k"):
			a, b, _ := strings.Cut(c[1:], ".")
			ms, err1 := strconv.ParseInt(a, 10, 64)
			seq, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil {
				http.Error(w, `{"error_message":"bad cursor"}`, http.StatusBadRequest)
				return
			}
			k := slices.IndexFunc(list, func(r fakeRec) bool { return r.ms > ms || r.ms == ms && r.seq > seq })
			if k < 0 {
				k = len(list)
			}
			list = list[k:]
		default:
			http.Error(w, `{"error_message":"bad cursor"}`, http.StatusBadRequest)
			return
		}
	}
	cursor := ""
	if len(list) > size {
		last := list[size-1]
		if f.offsets {
			off := 0
			if c := q.Get("cursor"); c != "" {
				off, _ = strconv.Atoi(c[1:])
			}
			cursor = "o" + strconv.Itoa(off+size)
		} else {
			cursor = "k" + strconv.FormatInt(last.ms, 10) + "." + strconv.Itoa(last.seq)
		}
		list = list[:size]
	}
	var b strings.Builder
	b.WriteString(`{"list":[`)
	for i, rec := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(rec.body)
	}
	b.WriteString(`]`)
	if cursor != "" {
		fmt.Fprintf(&b, `,"cursor":%q`, cursor)
	}
	b.WriteString(`}`)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(b.String()))
}
