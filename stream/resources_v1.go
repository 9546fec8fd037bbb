package stream

// The v1 inventory resources: the modern JSON API's objects, with
// snake_case names. Only the members whose names are documented are typed;
// Event.Record reads the others.

// V1Device is a device of the v1 devices inventory (resource "devices").
// Its strings share the event's Body: see DataPoint for the memory rules.
type V1Device struct {
	ID               string `json:"id" xml:"id"` // the device id, 00000000-00000000-…
	Name             string `json:"name" xml:"name"`
	Type             string `json:"type" xml:"type"`
	Group            string `json:"group" xml:"group"`
	Address          string `json:"address" xml:"address"`
	ConnectionStatus Value  `json:"connection_status" xml:"connection_status"`
	FirmwareVersion  Value  `json:"firmware_version" xml:"firmware_version"`
	Alerts           Number `json:"alerts" xml:"alerts"` // fired alerts of the device
	// Geoposition is kept undecoded.
	Geoposition Raw `json:"geoposition" xml:"geoposition"`
}

// V1AlertStatus is the status of an alert for one source (resource
// "alert_status").
// Its strings share the event's Body: see DataPoint for the memory rules.
type V1AlertStatus struct {
	ID          Number `json:"id" xml:"id"` // the alert
	Name        string `json:"name" xml:"name"`
	Description string `json:"description" xml:"description"`
	Status      Value  `json:"status" xml:"status"` // e.g. "fired"
	DeviceID    string `json:"device_id" xml:"device_id"`
	LastUpdate  string `json:"last_update" xml:"last_update"` // ISO-8601
}
