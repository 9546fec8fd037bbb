package stream

// Alarm is an alarm definition.
// Its strings share the event's Body: see DataPoint for the memory rules.
type Alarm struct {
	ID          Number `json:"almId" xml:"almId"`
	CustomerID  Number `json:"cstId" xml:"cstId"`
	TemplateID  Number `json:"almtID" xml:"almtID"`
	GroupID     Number `json:"grpId" xml:"grpId"`
	Name        string `json:"almName" xml:"almName"`
	Description string `json:"almDescription" xml:"almDescription"`
	Enabled     Value  `json:"almEnabled" xml:"almEnabled"`   // "true" or "false"
	Priority    Value  `json:"almPriority" xml:"almPriority"` // high, medium or low
	// ScopeConfig is the alarm's scope (group, device, XBee node, data
	// stream or global), kept undecoded.
	ScopeConfig Raw `json:"almScopeConfig" xml:"almScopeConfig"`
}

// AlarmStatus is the state of an alarm for one source entity.
// Its strings share the event's Body: see DataPoint for the memory rules.
type AlarmStatus struct {
	ID         AlarmStatusID `json:"id" xml:"id"`
	Status     Number        `json:"almsStatus" xml:"almsStatus"` // 0 reset, 1 triggered, 2 acknowledged
	Topic      string        `json:"almsTopic" xml:"almsTopic"`
	CustomerID Number        `json:"cstId" xml:"cstId"`
	UpdateTime string        `json:"almsUpdateTime" xml:"almsUpdateTime"` // ISO-8601
	// ConnectwareID is the device the status is about, when there is one.
	ConnectwareID string `json:"devConnectwareId" xml:"devConnectwareId"`
	// Payload is the event that changed the status (a monitor, a device
	// record, …), kept undecoded.
	Payload Raw `json:"almsPayload" xml:"almsPayload"`
}

// AlarmStatusID names an alarm and the entity (device, task, data stream)
// whose status it is.
type AlarmStatusID struct {
	AlarmID        Number `json:"almId" xml:"almId"`
	SourceEntityID string `json:"almsSourceEntityId" xml:"almsSourceEntityId"`
}

// Triggered reports whether the alarm is triggered (almsStatus 1).
func (a AlarmStatus) Triggered() bool { return a.Status == 1 }
