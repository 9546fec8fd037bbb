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
