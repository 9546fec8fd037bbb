package streamtest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// A MonitorSpec's TransportToken is a Secret, which never prints: in
// encoding/json and in log/slog's handlers (JSON and text) either, also
// inside a MonitorSpec or a MonitorInfo, as in every fmt verb.
func TestSecretNotInJSONOrSlog(t *testing.T) {
	const pw = "hunter2-secret"
	spec := MonitorSpec{Topics: []string{"DataPoint"}, TransportToken: "bob:" + pw}
	for _, v := range []any{spec, &spec, MonitorInfo{Spec: spec}, spec.TransportToken, []Secret{spec.TransportToken}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		if strings.Contains(string(b), pw) {
			t.Errorf("json.Marshal(%T) shows the token: %s", v, b)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("spec", "v", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("spec", "v", v)
		if strings.Contains(buf.String(), pw) {
			t.Errorf("slog of %T shows the token:\n%s", v, buf.String())
		}
	}
	if b, _ := json.Marshal(Secret("")); string(b) != `""` {
		t.Errorf("an empty Secret marshals to %s, want \"\"", b)
	}
	var got MonitorSpec
	if err := json.Unmarshal([]byte(`{"TransportToken":"bob:`+pw+`"}`), &got); err != nil || string(got.TransportToken) != "bob:"+pw {
		t.Errorf("a Secret does not decode from JSON: %v", err)
	}
}
