package streamtest

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

// Every operator, on the rows of three monitors; each condition's
// expected set of rows is what the operator means, so swapping two
// operators, comparing numbers as text or dropping case-folding fails.
func TestConditionOperators(t *testing.T) {
	rows := [][]kv{
		{{"monId", "100001"}, {"monTopic", "DeviceCore"}, {"monBatchSize", "9"}, {"monDescription", "Billing 50%"}, {"monStatus", "ACTIVE"}},
		{{"monId", "100002"}, {"monTopic", "DataPoint/dev1"}, {"monBatchSize", "10"}, {"monDescription", "it's"}, {"monStatus", "INACTIVE"}},
		{{"monId", "100003"}, {"monTopic", "DataPoint/dev2"}, {"monBatchSize", "100"}, {"monStatus", "ACTIVE"}},
	}
	cases := []struct {
		cond string
		want string // indexes of the matching rows
	}{
		{"monBatchSize = 10", "1"},
		{"monBatchSize = '10'", "1"},
		{"monBatchSize <> 10", "02"},
		{"monBatchSize > 9", "12"}, // numbers, not text ("10" < "9")
		{"monBatchSize >= 10", "12"},
		{"monBatchSize < 10", "0"},
		{"monBatchSize <= '10'", "01"},
		{"monId > 100001 and monId < 100003", "1"},
		{"monTopic < 'DataPoint/dev2'", "1"}, // text, without regard to case
		{"monTopic > 'datapoint/dev1'", "02"},
		{"monTopic <> 'devicecore'", "12"},
		{"monTopic like 'DataPoint/%'", "12"},
		{"monTopic LIKE '%core'", "0"},
		{"monTopic like 'datapoint/dev_'", "12"},
		{"monTopic like 'D_viceCore'", "0"},
		{"monTopic like '%a%a%'", "12"},
		{"monTopic like 'DataPoint'", ""},
		{"monTopic like '%'", "012"},
		{"monDescription like '%50\\%'", ""}, // no escape character: \ is literal
		{"monDescription like '%50%'", "0"},
		{"monDescription = 'it''s'", "1"},
		{"monDescription like ''", "2"}, // absent reads as ""
		{"monStatus='ACTIVE' and (monTopic like 'Dev%' or monBatchSize > 50)", "02"},
		{"(monStatus='ACTIVE' and monTopic like 'Dev%') or monBatchSize > 50", "02"},
		{"monStatus='ACTIVE' and monTopic like 'Dev%' or monBatchSize = 10", "01"},
		{"monStatus='INACTIVE' or monBatchSize>=100 and monTopic like '%dev2'", "12"},
		{"((monBatchSize < 0))", ""},
	}
	for _, c := range cases {
		cond, err := parseCondition(c.cond)
		if err != nil {
			t.Errorf("%q: %v", c.cond, err)
			continue
		}
		var got strings.Builder
		for i, row := range rows {
			if cond.match(row) {
				got.WriteString(strconv.Itoa(i))
			}
		}
		if got.String() != c.want {
			t.Errorf("%q matches rows %q, want %q", c.cond, got.String(), c.want)
		}
	}
	for _, bad := range []string{
		"monTopic like Data%", "monTopic ~ 'x'", "(monTopic='A'", "monTopic='A')", "monBatchSize > 1e3",
		"monBatchSize > -", "monTopic = = 'x'", "() ", "monTopic='A' and ()", "monTopic liked 'x'",
		"monTopic='A' and(monTopic='B'", "monTopic='A'monStatus='B'",
	} {
		if _, err := parseCondition(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A condition is untrusted text: its length, nesting and number of
// comparisons are bounded, and each limit is named in a typed error.
func TestConditionBudgets(t *testing.T) {
	clause := "monTopic='x'"
	cases := []struct {
		cond string
		what string
	}{
		{clause + strings.Repeat(" ", maxConditionLen), "length"},
		{strings.Repeat("(", maxConditionDepth+1) + clause + strings.Repeat(")", maxConditionDepth+1), "nesting"},
		{strings.Repeat("(", 100000), "length"},
		{strings.Repeat(clause+" or ", maxConditionTerms) + clause, "comparisons"},
	}
	for _, c := range cases {
		_, err := parseCondition(c.cond)
		var le *conditionLimitError
		if !errors.As(err, &le) || le.What != c.what {
			t.Errorf("%.40q…: %v, want the %s limit", c.cond, err, c.what)
		}
	}
	// Right at the limits it parses.
	for _, ok := range []string{
		strings.Repeat("(", maxConditionDepth) + clause + strings.Repeat(")", maxConditionDepth),
		strings.Repeat(clause+" or ", maxConditionTerms-1) + clause,
	} {
		if _, err := parseCondition(ok); err != nil {
			t.Errorf("%.40q…: %v", ok, err)
		}
	}
	// A pattern made to backtrack stays linear in its backtracking: it
	// finishes (the test would time out otherwise) with the right answer.
	long := strings.Repeat("a", maxConditionLen)
	if like(long, strings.Repeat("%a", 300)+"%b") || !like(long+"b", strings.Repeat("%a", 300)+"%b") {
		t.Error("like on a long run of a's")
	}
}

// The operators through the REST API: the legacy condition and the v1
// query.
func TestRESTConditionOperators(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	for i, topic := range []string{"DeviceCore", "DataPoint/dev1", "DataPoint/dev2", "FileData"} {
		c.create("<Monitor><monTopic>" + topic + "</monTopic><monBatchSize>" + strconv.Itoa(5*(i+1)) + "</monBatchSize></Monitor>")
	}
	for _, tc := range []struct {
		cond string
		want int
	}{
		{"monTopic like 'DataPoint/%'", 2},
		{"monBatchSize > 5", 3},
		{"monBatchSize >= 15 and monTopic <> 'FileData'", 1},
		{"monBatchSize < 10 or monTopic like '%e%a'", 2},
		{"monBatchSize <= 10", 2},
	} {
		code, _, body := c.do("GET", "/ws/Monitor/.json?condition="+url.QueryEscape(tc.cond), "")
		jr := parseJSONResult(t, body)
		if code != 200 || jr.ResultTotalRows != strconv.Itoa(tc.want) {
			t.Errorf("%s: %d %+v, want %d rows", tc.cond, code, jr, tc.want)
		}
	}
	api := rm.NewClient(s.URL(), rm.WithBasicAuth("user", "password"))
	defer api.CloseIdleConnections()
	got, err := api.V1().List(context.Background(), rm.ListQuery{Query: "topics like 'DataPoint%' and batch_size > 10"})
	if err != nil || len(got) != 1 || got[0].BatchSize != 15 {
		t.Errorf("v1 query: %+v, %v", got, err)
	}
	code, _, body := c.do("GET", "/ws/Monitor?condition="+url.QueryEscape(strings.Repeat("(", 40)), "")
	if r, _ := parseXMLResult(t, body); code != 400 || !strings.Contains(r.Error, "nesting limit of 16") {
		t.Errorf("deep condition: %d %s", code, body)
	}
}
