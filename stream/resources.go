package stream

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

var b64 = base64.StdEncoding

// DataPoint is a data point of a data stream.
type DataPoint struct {
	ID              string `json:"id" xml:"id"` // UUID, the natural identity
	CustomerID      Number `json:"cstId" xml:"cstId"`
	StreamID        string `json:"streamId" xml:"streamId"`
	Data            Value  `json:"data" xml:"data"`
	Timestamp       Millis `json:"timestamp" xml:"timestamp"`
	ServerTimestamp Millis `json:"serverTimestamp" xml:"serverTimestamp"`
	Description     string `json:"description" xml:"description"`
	Quality         Number `json:"quality" xml:"quality"`
	StreamUnits     string `json:"streamUnits" xml:"streamUnits"`
	StreamType      string `json:"streamType" xml:"streamType"`
	Location        string `json:"location" xml:"location"`
}

// DeviceCore is a device's core record.
type DeviceCore struct {
	ID struct {
		DevID      Number `json:"devId" xml:"devId"`
		DevVersion Number `json:"devVersion" xml:"devVersion"`
	} `json:"id" xml:"id"`
	ConnectwareID      string `json:"devConnectwareId" xml:"devConnectwareId"`
	MAC                string `json:"devMac" xml:"devMac"`
	CustomerID         Number `json:"cstId" xml:"cstId"`
	GroupID            Number `json:"grpId" xml:"grpId"`
	GroupPath          string `json:"grpPath" xml:"grpPath"`
	ConnectionStatus   Number `json:"dpConnectionStatus" xml:"dpConnectionStatus"` // 0 disconnected, 1 connected
	DeviceType         string `json:"dpDeviceType" xml:"dpDeviceType"`
	FirmwareLevel      Value  `json:"dpFirmwareLevel" xml:"dpFirmwareLevel"`
	LastKnownIP        string `json:"dpLastKnownIp" xml:"dpLastKnownIp"`
	GlobalIP           string `json:"dpGlobalIp" xml:"dpGlobalIp"`
	LastConnectTime    string `json:"dpLastConnectTime" xml:"dpLastConnectTime"`
	LastDisconnectTime string `json:"dpLastDisconnectTime" xml:"dpLastDisconnectTime"`
	Description        string `json:"dpDescription" xml:"dpDescription"`
	Contact            string `json:"dpContact" xml:"dpContact"`
	Location           string `json:"dpLocation" xml:"dpLocation"`
	MapLat             Value  `json:"dpMapLat" xml:"dpMapLat"`
	MapLong            Value  `json:"dpMapLong" xml:"dpMapLong"`
	Tags               string `json:"dpTags" xml:"dpTags"`
	RecordStartDate    string `json:"devRecordStartDate" xml:"devRecordStartDate"`
	EffectiveStartDate string `json:"devEffectiveStartDate" xml:"devEffectiveStartDate"`
	Terminated         Value  `json:"devTerminated" xml:"devTerminated"`
	RestrictedStatus   Number `json:"dpRestrictedStatus" xml:"dpRestrictedStatus"`
	Capabilities       Number `json:"dpCapabilities" xml:"dpCapabilities"`
	VendorID           Value  `json:"dvVendorId" xml:"dvVendorId"`
}

// Connected reports whether dpConnectionStatus is 1.
func (d DeviceCore) Connected() bool { return d.ConnectionStatus == 1 }

// FileData is a file stored in the account.
type FileData struct {
	ID struct {
		Path string `json:"fdPath" xml:"fdPath"`
		Name string `json:"fdName" xml:"fdName"`
	} `json:"id" xml:"id"`
	// Base64 is fdData as sent; Data is its decoded content (nil when the
	// file is empty, when fdData is absent).
	Base64           string `json:"fdData" xml:"fdData"`
	Data             []byte `json:"-" xml:"-"`
	Size             Number `json:"fdSize" xml:"fdSize"`
	ContentType      string `json:"fdContentType" xml:"fdContentType"`
	Type             string `json:"fdType" xml:"fdType"` // "file" or "event"
	Archive          Value  `json:"fdArchive" xml:"fdArchive"`
	CreatedDate      string `json:"fdCreatedDate" xml:"fdCreatedDate"`
	LastModifiedDate string `json:"fdLastModifiedDate" xml:"fdLastModifiedDate"`
	CustomerID       Number `json:"cstId" xml:"cstId"`
}

// Value is a scalar that the server sends as a JSON number, string or
// boolean (or as XML text), kept as its text.
type Value string

// UnmarshalJSON accepts a string, number, boolean or null.
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Value(s)
		return nil
	}
	if string(b) == "null" {
		*v = ""
		return nil
	}
	*v = Value(b)
	return nil
}

// Float64 parses the value as a number.
func (v Value) Float64() (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
}

// Bool parses the value as a boolean.
func (v Value) Bool() (bool, error) { return strconv.ParseBool(strings.TrimSpace(string(v))) }

// String returns the text.
func (v Value) String() string { return string(v) }

// Number is an integer the server sends either as a JSON number or as a
// string ("7603"), as REST output does.
type Number int64

// UnmarshalJSON accepts a number, a numeric string, or null.
func (n *Number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return err
		}
		i = int64(f)
	}
	*n = Number(i)
	return nil
}

// UnmarshalText accepts XML text.
func (n *Number) UnmarshalText(b []byte) error {
	return n.UnmarshalJSON([]byte(strings.TrimSpace(string(b))))
}

// Millis is a time sent as epoch milliseconds (number or string).
type Millis int64

// UnmarshalJSON accepts a number or a numeric string.
func (m *Millis) UnmarshalJSON(b []byte) error { return (*Number)(m).UnmarshalJSON(b) }

// UnmarshalText accepts XML text.
func (m *Millis) UnmarshalText(b []byte) error { return (*Number)(m).UnmarshalText(b) }

// Time converts to a UTC time; zero stays the zero time.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}
