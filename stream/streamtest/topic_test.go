package streamtest

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTopic(t *testing.T) {
	good := []string{
		"DeviceCore", "DataPoint/dev1", "DataPoint/*/metrics/cellular", "FileData/*.*",
		"[operation=U]DeviceCore", "DeviceCore[U]", "DeviceCore[C,D]", "[group=A,B]devices",
		"[operation=U][group=x]DeviceCore", "alert_status", "/DeviceCore/", "[U]DeviceCore",
	}
	for _, s := range good {
		if _, err := parseTopic(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{
		"", "/", "Unknown", "devicecore", "DeviceCore//x", "DeviceCore[X]", "[operation=Q]DeviceCore",
		"[colour=red]DeviceCore", "[group=]devices", "[operation=U", "DeviceCore[U", "DeviceCore[U]x",
		"DataPoint/[", "DataPoint/a b", "Device,Core",
	}
	for _, s := range bad {
		if _, err := parseTopic(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestTopicMatch(t *testing.T) {
	cases := []struct {
		filter, topic, op, group string
		want                     bool
	}{
		{"DeviceCore", "DeviceCore/882/7", "UPDATE", "", true},
		{"DeviceCore", "DeviceCore", "UPDATE", "", true},
		{"DeviceCore", "DeviceCoreX/1", "UPDATE", "", false},
		{"DeviceCore", "DataPoint/1", "UPDATE", "", false},
		{"DataPoint/dev1", "DataPoint/dev1/temp", "INSERTION", "", true},
		{"DataPoint/dev1", "DataPoint/dev10/temp", "INSERTION", "", false},
		{"DataPoint/dev1/temp", "DataPoint/dev1", "INSERTION", "", false},
		{"DataPoint/*/temp", "DataPoint/x/temp", "INSERTION", "", true},
		{"DataPoint/*/temp", "DataPoint/x/hum", "INSERTION", "", false},
		{"FileData/*.*", "FileData/a.json", "INSERTION", "", true},
		{"FileData/*.*", "FileData/db", "INSERTION", "", false},
		{"DeviceCore[U]", "DeviceCore/1", "update", "", true},
		{"DeviceCore[U]", "DeviceCore/1", "DELETE", "", false},
		{"[operation=C]DataPoint", "DataPoint/1", "INSERTION", "", true},
		{"[operation=C]DataPoint", "DataPoint/1", "CREATE", "", true},
		{"[operation=C]DataPoint", "DataPoint/1", "UPDATE", "", false},
		{"[operation=C]DataPoint", "DataPoint/1", "ARCHIVE", "", false},
		{"DataPoint", "DataPoint/1", "ARCHIVE", "", true},
		{"[group=A,B]devices", "devices/1", "UPDATE", "B", true},
		{"[group=A,B]devices", "devices/1", "UPDATE", "", false},
	}
	for _, c := range cases {
		f, err := parseTopic(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.match(strings.Split(c.topic, "/"), opBit(c.op), c.group); got != c.want {
			t.Errorf("%s vs %s %s %q: %t", c.filter, c.topic, c.op, c.group, got)
		}
	}
}

func TestSplitTopics(t *testing.T) {
	got := splitTopics(" DeviceCore, [group=A,B]devices ,DataPoint[C,U]")
	want := []string{"DeviceCore", "[group=A,B]devices", "DataPoint[C,U]"}
	if !slices.Equal(got, want) {
		t.Errorf("%q", got)
	}
}
