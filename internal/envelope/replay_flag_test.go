package envelope

import (
	"context"
	"testing"
)

// TestReplayFlagSpellings: a JSON Msg's replay member marks a replay when
// it is true or the string "true" in any case, as the XML attribute does
// (replay="True" is one there); false, other strings and other values do
// not. Before, the JSON string "True" was not a replay while the XML
// attribute "True" was.
func TestReplayFlagSpellings(t *testing.T) {
	for replay, want := range map[string]bool{
		`true`: true, `"true"`: true, `"True"`: true, `"TRUE"`: true,
		`false`: false, `"false"`: false, `"yes"`: false, `1`: false, `null`: false, `"true "`: false,
	} {
		doc := `{"Document":{"Msg":{"topic":"1/A/1","replay":` + replay + `,"A":{}}}}`
		var got []Event
		var s Splitter
		if _, err := s.Split(context.Background(), []byte(doc), JSON, func(ev Event) { got = append(got, ev) }); err != nil || len(got) != 1 {
			t.Fatalf("replay %s: %d events, %v", replay, len(got), err)
		}
		if got[0].Replay != want {
			t.Errorf("replay %s: Replay = %t, want %t", replay, got[0].Replay, want)
		}
	}
	for attr, want := range map[string]bool{`true`: true, `True`: true, `false`: false} {
		doc := `<Document><Msg topic="1/A/1" replay="` + attr + `"><A/></Msg></Document>`
		var got []Event
		var s Splitter
		if _, err := s.Split(context.Background(), []byte(doc), XML, func(ev Event) { got = append(got, ev) }); err != nil || len(got) != 1 {
			t.Fatalf("XML replay %s: %d events, %v", attr, len(got), err)
		}
		if got[0].Replay != want {
			t.Errorf("XML replay %q: Replay = %t, want %t", attr, got[0].Replay, want)
		}
	}
}
