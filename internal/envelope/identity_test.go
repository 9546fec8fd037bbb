package envelope

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"testing"
	"time"
)

func TestIdentityFormula(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)
	f := Fields{Topic: "7/DeviceCore/1/0", Operation: "UPDATE", Timestamp: ts, Resource: "DeviceCore", Body: []byte(`{"id":"x"}`)}
	var canon []byte
	for _, field := range [][]byte{[]byte(f.Topic), []byte(f.Operation),
		binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(ts.Unix())), uint32(ts.Nanosecond())),
		[]byte(f.Resource), f.Body} {
		canon = binary.AppendUvarint(canon, uint64(len(field)))
		canon = append(canon, field...)
	}
	sum := sha256.Sum256(canon)
	if want := "ev-" + hex.EncodeToString(sum[:16]); ID(&f) != want {
		t.Errorf("ID = %q, want %q (the documented formula: a persisted identity must not change)", ID(&f), want)
	}
	if ID(&Fields{Body: []byte("raw")}) != "" || Hash64(maphash.MakeSeed(), &Fields{Body: []byte("raw")}) != 0 {
		t.Error("an event without a topic has an identity")
	}
}

// TestIdentityDistinguishes: every field counts, fields cannot run into
// each other, and two spellings of one instant are one timestamp; ID and
// Hash64 agree.
func TestIdentityDistinguishes(t *testing.T) {
	base := Fields{Topic: "7/DataPoint/d/s", Operation: "INSERTION", Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Resource: "DataPoint", Body: []byte(`{"id":"a","data":1}`)}
	variants := map[string]func(f *Fields){
		"topic":       func(f *Fields) { f.Topic = "7/DataPoint/d/t" },
		"operation":   func(f *Fields) { f.Operation = "DELETE" },
		"timestamp":   func(f *Fields) { f.Timestamp = f.Timestamp.Add(time.Nanosecond) },
		"no time":     func(f *Fields) { f.Timestamp = time.Time{} },
		"epoch":       func(f *Fields) { f.Timestamp = time.Unix(0, 0) },
		"resource":    func(f *Fields) { f.Resource = "DataPoints" },
		"body":        func(f *Fields) { f.Body = []byte(`{"id":"a","data":2}`) },
		"body spaces": func(f *Fields) { f.Body = []byte(`{"id":"a", "data":1}`) },
		"invalid":     func(f *Fields) { f.Err = errors.New("event 0: invalid timestamp") },
		"shifted":     func(f *Fields) { f.Topic, f.Operation = "7/DataPoint/d/sI", "NSERTION" },
		"moved":       func(f *Fields) { f.Resource, f.Body = "DataPoint{", []byte(`"id":"a","data":1}`) },
	}
	seed := maphash.MakeSeed()
	ids := map[string]string{ID(&base): "base"}
	hashes := map[uint64]string{Hash64(seed, &base): "base"}
	for name, change := range variants {
		f := base
		change(&f)
		if other, dup := ids[ID(&f)]; dup {
			t.Errorf("%s and %s share an ID", name, other)
		}
		if other, dup := hashes[Hash64(seed, &f)]; dup {
			t.Errorf("%s and %s share a Hash64", name, other)
		}
		ids[ID(&f)], hashes[Hash64(seed, &f)] = name, name
	}
	same := base
	same.Timestamp = base.Timestamp.In(time.FixedZone("X", 3600))
	same.Body = append([]byte(nil), base.Body...)
	if ID(&same) != ID(&base) || Hash64(seed, &same) != Hash64(seed, &base) {
		t.Error("the same event (another zone for its instant, a copy of its body) has another identity")
	}
}

func BenchmarkHash64(b *testing.B) {
	f := Fields{Topic: "1234/DataPoint/dev01/temp", Operation: "INSERTION", Timestamp: time.Now(), Resource: "DataPoint",
		Body: []byte(`{"id":"0c9f6a9e-07d4-4f4e-9d2c-000000000001","cstId":1234,"streamId":"dev01/temp","data":21.25,"timestamp":1714564800001,"quality":0,"description":"a \"quoted\" word"}`)}
	seed := maphash.MakeSeed()
	b.ReportAllocs()
	for b.Loop() {
		Hash64(seed, &f)
	}
}
