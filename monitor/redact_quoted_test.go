package monitor

import (
	"context"
	"testing"
)

// Some errors quote the server's text with %q (an "error" in a 2xx list
// answer, a monitor field that does not parse), which spells a control
// character or DEL of an echoed password as \x01 or \x7f: a form the
// scrubber must know, else the rest of the password is printed.
func TestQuotedServerTextScrubbed(t *testing.T) {
	ctx := context.Background()
	for name, pw := range map[string]string{
		"DEL":     "Alpha7Q\x7fBravo9K",
		"control": "Alpha7Q\x01Bravo9K",
	} {
		esc := `Alpha7Q\u00` + map[string]string{"DEL": "7f", "control": "01"}[name] + `Bravo9K`
		for what, body := range map[string]string{
			"error in a 2xx list answer":   `{"remainingSize":"0","items":[],"error":"denied for ` + esc + `"}`,
			"echo in a field of a monitor": `{"remainingSize":"0","items":[{"monId":"1","monBatchSize":"` + esc + `"}]}`,
		} {
			c := answering(200, body, WithBasicAuth("tester", pw))
			_, err := c.List(ctx, "")
			if err == nil {
				t.Fatalf("%s, %s: no error", name, what)
			}
			checkNoPart(t, name+", "+what, err.Error())
		}
	}
}
