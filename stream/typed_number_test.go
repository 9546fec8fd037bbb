package stream

import (
	"encoding/json"
	"testing"
)

// TestTypedNumbersTruncateExactly: a Number sent with a fraction or an
// exponent is truncated toward zero exactly, by the typed accessors (JSON
// and XML) and by encoding/json alike. Before, the text went through a
// float64 whose rounding made a dpConnectionStatus of 0.99999999999999999
// a 1 (Connected true) and a devId of 9007199254740993.0 another device's,
// 9007199254740992.
func TestTypedNumbersTruncateExactly(t *testing.T) {
	const status, devID = "0.99999999999999999", "9007199254740993.0"
	check := func(how string, d DeviceCore, err error) {
		t.Helper()
		if err != nil || d.ConnectionStatus != 0 || d.Connected() || d.ID.DevID != 9007199254740993 {
			t.Errorf("%s: status %d (connected %v), devId %d, %v; want 0 (false), 9007199254740993",
				how, d.ConnectionStatus, d.Connected(), d.ID.DevID, err)
		}
	}
	body := `{"id":{"devId":` + devID + `},"dpConnectionStatus":` + status + `}`
	d, err := jsonEvent("DeviceCore", body).DeviceCore()
	check("JSON accessor", d, err)
	var std DeviceCore
	err = json.Unmarshal([]byte(body), &std)
	check("encoding/json", std, err)
	d, err = xmlEvent("DeviceCore", "<DeviceCore><id><devId>"+devID+"</devId></id><dpConnectionStatus>"+
		status+"</dpConnectionStatus></DeviceCore>").DeviceCore()
	check("XML accessor", d, err)
}

// TestXMLNumberTextKeepsItsQuotes: an XML element's text is the value
// itself, not JSON: quote characters in it are not a string's delimiters
// to strip, and white space around it is XML's (space, tab, CR, LF).
// Before, Number.UnmarshalText handed the text to the JSON parser, which
// removes every leading and trailing quote, so <cstId>7"</cstId> read as
// 7 and <cstId>"</cstId> as 0, values the text does not hold, and a
// no-break space around the digits was trimmed as white space.
func TestXMLNumberTextKeepsItsQuotes(t *testing.T) {
	for _, c := range []struct {
		text string
		want Number
		ok   bool
	}{
		{"7603", 7603, true}, {" \t\r\n7603\n ", 7603, true}, {"", 0, true}, {"  ", 0, true},
		{"-7.9", -7, true}, {"1e3", 1000, true}, {"+7", 7, true},
		{`"7"`, 0, false}, {`7"`, 0, false}, {`"7`, 0, false}, {`"`, 0, false}, {`""`, 0, false},
		{`"null"`, 0, false}, {`"1e3"`, 0, false}, {"\u00a07", 0, false}, {"7\u2003", 0, false},
	} {
		dp, err := xmlEvent("DataPoint", "<DataPoint><cstId>"+c.text+"</cstId><timestamp>"+c.text+
			"</timestamp></DataPoint>").DataPoint()
		if c.ok && (err != nil || dp.CustomerID != c.want || dp.Timestamp != Millis(c.want)) {
			t.Errorf("<cstId>%s</cstId>: %d, %d, %v; want %d", c.text, dp.CustomerID, dp.Timestamp, err, c.want)
		}
		if !c.ok && err == nil {
			t.Errorf("<cstId>%s</cstId>: %d, %d accepted; want an error", c.text, dp.CustomerID, dp.Timestamp)
		}
		var n Number
		if err := n.UnmarshalText([]byte(c.text)); (err == nil) != c.ok || n != c.want {
			t.Errorf("UnmarshalText(%q) = %d, %v", c.text, n, err)
		}
	}
}
