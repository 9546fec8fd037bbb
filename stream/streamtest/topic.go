package streamtest

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// knownResources are the resource names a monitor topic may start with:
// the ones the protocol package documentation §4 lists. A topic naming anything else is refused at
// create time, like the real service does.
var knownResources = []string{
	"Alarm", "AlarmStatus", "DataPoint", "DataStream", "DeviceCore", "FileData",
	"FileDataCore", "Group", "Job", "JobResult", "XbeeCore",
	"alert_status", "devices", "jobs",
}

// Operation filter bits.
const (
	opCreate uint8 = 1 << iota // CREATE and INSERTION
	opUpdate
	opDelete
)

// topicFilter is one parsed monitor topic such as "DataPoint/*/metrics",
// "[operation=U]DeviceCore", "DeviceCore[U]" or "[group=A,B]devices".
type topicFilter struct {
	segs   []string // segs[0] is the resource name; the rest are path.Match patterns
	ops    uint8    // 0 = every operation
	groups []string // nil = every group
}

// parseTopic parses one monitor topic. The error text is for humans; the
// REST layer turns any error into "Invalid monTopic specified".
func parseTopic(s string) (topicFilter, error) {
	var f topicFilter
	s = strings.TrimSpace(s)
	// Leading "[key=values]" clauses.
	for strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return f, fmt.Errorf("unclosed '[' in %q", s)
		}
		if err := f.clause(s[1:end]); err != nil {
			return f, err
		}
		s = s[end+1:]
	}
	// A trailing "[U]" / "[C,U]" operation shorthand.
	if i := strings.IndexByte(s, '['); i >= 0 {
		if !strings.HasSuffix(s, "]") || strings.Count(s[i:], "[") != 1 {
			return f, fmt.Errorf("malformed filter in %q", s)
		}
		if err := f.opList(s[i+1 : len(s)-1]); err != nil {
			return f, err
		}
		s = s[:i]
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "/"), "/")
	if s == "" {
		return f, fmt.Errorf("empty topic")
	}
	if strings.ContainsAny(s, ", \t\r\n]") {
		return f, fmt.Errorf("bad character in topic %q", s)
	}
	f.segs = strings.Split(s, "/")
	if !slices.Contains(knownResources, f.segs[0]) {
		return f, fmt.Errorf("unknown resource %q", f.segs[0])
	}
	for _, seg := range f.segs[1:] {
		if seg == "" {
			return f, fmt.Errorf("empty path segment in %q", s)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return f, fmt.Errorf("bad pattern %q", seg)
		}
	}
	return f, nil
}

func (f *topicFilter) clause(c string) error {
	key, vals, ok := strings.Cut(c, "=")
	if !ok { // "[U]DeviceCore"
		return f.opList(c)
	}
	switch strings.ToLower(strings.TrimSpace(key)) {
	case "operation", "op":
		return f.opList(vals)
	case "group":
		for g := range strings.SplitSeq(vals, ",") {
			if g = strings.TrimSpace(g); g == "" {
				return fmt.Errorf("empty group in filter")
			}
			f.groups = append(f.groups, g)
		}
		return nil
	}
	return fmt.Errorf("unknown filter %q", key)
}

func (f *topicFilter) opList(list string) error {
	for o := range strings.SplitSeq(list, ",") {
		switch strings.ToUpper(strings.TrimSpace(o)) {
		case "C", "CREATE", "I", "INSERTION":
			f.ops |= opCreate
		case "U", "UPDATE":
			f.ops |= opUpdate
		case "D", "DELETE":
			f.ops |= opDelete
		default:
			return fmt.Errorf("unknown operation %q", o)
		}
	}
	return nil
}

// opBit maps an event operation to its filter bit (0 for unknown ones,
// which only unfiltered topics match).
func opBit(op string) uint8 {
	switch strings.ToUpper(op) {
	case "CREATE", "INSERTION":
		return opCreate
	case "UPDATE":
		return opUpdate
	case "DELETE":
		return opDelete
	}
	return 0
}

// match reports whether an event with the given topic segments (without
// the customer prefix), operation bit and group passes the filter. The
// filter's segments are a prefix pattern: "DataPoint/dev1" matches
// "DataPoint/dev1" and "DataPoint/dev1/temp".
func (f *topicFilter) match(segs []string, op uint8, group string) bool {
	if len(segs) < len(f.segs) || segs[0] != f.segs[0] {
		return false
	}
	for i := 1; i < len(f.segs); i++ {
		if ok, _ := path.Match(f.segs[i], segs[i]); !ok {
			return false
		}
	}
	if f.ops != 0 && f.ops&op == 0 {
		return false
	}
	if f.groups != nil && !slices.Contains(f.groups, group) {
		return false
	}
	return true
}

// splitTopics splits a monTopic list on the commas that are not inside
// brackets, so "[group=A,B]devices,DeviceCore" is two topics.
func splitTopics(list string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(list); i++ {
		switch list[i] {
		case '[':
			depth++
		case ']':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(list[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(list[start:]))
}
