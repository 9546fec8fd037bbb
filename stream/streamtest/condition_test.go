package streamtest

import (
	"context"
	"net/url"
	"slices"
	"testing"

	rm "github.com/pushmon/pushmon/monitor"
)

func TestParseConditionOr(t *testing.T) {
	fields := func(topic, status string) []kv {
		return []kv{{"monTopic", topic}, {"monStatus", status}, {"monTransportType", "tcp"}}
	}
	cases := []struct {
		cond string
		in   [][]kv
		want []bool
	}{
		{"monTopic='A,B' or monTopic='B,A'", [][]kv{fields("A,B", "X"), fields("B,A", "X"), fields("A", "X")}, []bool{true, true, false}},
		// "and" binds tighter than "or".
		{"monTopic='A' and monStatus='ACTIVE' OR monTopic='B'", [][]kv{fields("A", "ACTIVE"), fields("A", "INACTIVE"), fields("B", "INACTIVE")}, []bool{true, false, true}},
		{"monStatus='DISABLED'", [][]kv{fields("A", "DISABLED"), fields("A", "ACTIVE")}, []bool{true, false}},
		{"", [][]kv{fields("A", "ACTIVE")}, []bool{true}},
	}
	for _, c := range cases {
		cond, err := parseCondition(c.cond)
		if err != nil {
			t.Fatalf("%q: %v", c.cond, err)
		}
		for i, f := range c.in {
			if got := cond.match(f); got != c.want[i] {
				t.Errorf("%q on %v = %v, want %v", c.cond, f, got, c.want[i])
			}
		}
	}
	for _, bad := range []string{"monTopic='A' or", "or monTopic='A'", "monTopic='A' xor monTopic='B'", "monTopic='A' orr monTopic='B'"} {
		if _, err := parseCondition(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestFindByTopicsAgainstSimulator runs monitor.FindByTopics, which sends
// an "or" condition, and checks that a bracketed topic list survives the
// REST round trip as one topic.
func TestFindByTopicsAgainstSimulator(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := rm.NewClient(s.URL(), rm.WithBasicAuth("user", "password"))
	defer api.CloseIdleConnections()
	ctx := context.Background()
	want, err := api.Create(ctx, rm.Spec{Topics: []string{"[group=A,B]devices", "DeviceCore"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Create(ctx, rm.Spec{Topics: []string{"DeviceCore"}}); err != nil {
		t.Fatal(err)
	}
	info, _ := s.MonitorInfo(want)
	if !slices.Equal(info.Spec.Topics, []string{"[group=A,B]devices", "DeviceCore"}) {
		t.Fatalf("stored topics %q", info.Spec.Topics)
	}
	found, err := api.FindByTopics(ctx, []string{"DeviceCore", "[group=A,B]devices"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != want {
		t.Fatalf("FindByTopics = %v, want only %d", found, want)
	}
	// The server itself must have filtered: the condition has "or".
	c := newREST(t, s)
	cond, _ := rm.TopicCondition([]string{"DeviceCore", "[group=A,B]devices"})
	code, _, body := c.do("GET", "/ws/Monitor?condition="+url.QueryEscape(cond), "")
	r, _ := parseXMLResult(t, body)
	if code != 200 || r.ResultSize != 1 {
		t.Errorf("condition %q: %d %s", cond, code, body)
	}
}
