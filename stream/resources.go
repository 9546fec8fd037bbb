package stream

//go:generate go run ./internal/typedgen

// The typed resources of push events, declared in the resource*.go files.
// Each has an accessor on Event (DataPoint, DeviceCore, …, V1Device) that
// decodes the body, JSON or XML. Tags are the server's element names; a
// member the server does not send leaves its field zero, and members a type
// does not name are skipped (Event.Record and Event.Decode read them).
//
// The JSON decoders in resources_json.go are generated from these struct
// definitions: change a type, then run go generate.

// DataPoint is a data point of a data stream.
//
// Memory, for every typed resource: the strings an accessor decodes share
// the event's Body whenever their JSON text needs no unescaping (Raw fields
// always do), so decoding allocates nothing. They are read-only, like Body,
// and keep the whole document Body belongs to alive while they are
// referenced: clone one (strings.Clone) to keep it for long on its own.
type DataPoint struct {
	ID              string `json:"id" xml:"id"` // UUID, the natural identity
	CustomerID      Number `json:"cstId" xml:"cstId"`
	StreamID        string `json:"streamId" xml:"streamId"`
	Data            Value  `json:"data" xml:"data"`
	Timestamp       Millis `json:"timestamp" xml:"timestamp"`
	ServerTimestamp Millis `json:"serverTimestamp" xml:"serverTimestamp"`
	// TimestampISO and ServerTimestampISO are the ISO-8601 forms that REST
	// output adds to the epoch-millisecond ones.
	TimestampISO       string `json:"timestampISO" xml:"timestampISO"`
	ServerTimestampISO string `json:"serverTimestampISO" xml:"serverTimestampISO"`
	Description        string `json:"description" xml:"description"`
	Quality            Number `json:"quality" xml:"quality"`
	StreamUnits        string `json:"streamUnits" xml:"streamUnits"`
	StreamType         string `json:"streamType" xml:"streamType"`
	Location           string `json:"location" xml:"location"`
}

// DataStream is a data stream: the container of data points, with its
// latest value.
// Its strings share the event's Body: see DataPoint for the memory rules.
type DataStream struct {
	CustomerID  Number `json:"cstId" xml:"cstId"`
	StreamID    string `json:"streamId" xml:"streamId"`
	DataType    string `json:"dataType" xml:"dataType"` // INTEGER, FLOAT, STRING, …
	Units       string `json:"units" xml:"units"`
	Description string `json:"description" xml:"description"`
	ForwardTo   string `json:"forwardTo" xml:"forwardTo"` // comma-separated stream ids
	DataTTL     Number `json:"dataTtl" xml:"dataTtl"`     // seconds
	RollupTTL   Number `json:"rollupTtl" xml:"rollupTtl"` // seconds
	// CurrentValue is the stream's latest data point (zero if none).
	CurrentValue DataPoint `json:"currentValue" xml:"currentValue"`
}

// DeviceCore is a device's core record.
// Its strings share the event's Body: see DataPoint for the memory rules.
type DeviceCore struct {
	ID                 DeviceCoreID `json:"id" xml:"id"`
	ConnectwareID      string       `json:"devConnectwareId" xml:"devConnectwareId"`
	MAC                string       `json:"devMac" xml:"devMac"`
	CellularModemID    string       `json:"devCellularModemId" xml:"devCellularModemId"`
	CustomerID         Number       `json:"cstId" xml:"cstId"`
	GroupID            Number       `json:"grpId" xml:"grpId"`
	GroupPath          string       `json:"grpPath" xml:"grpPath"`
	ConnectionStatus   Number       `json:"dpConnectionStatus" xml:"dpConnectionStatus"` // 0 disconnected, 1 connected
	DeviceType         string       `json:"dpDeviceType" xml:"dpDeviceType"`
	FirmwareLevel      Value        `json:"dpFirmwareLevel" xml:"dpFirmwareLevel"`
	LastKnownIP        string       `json:"dpLastKnownIp" xml:"dpLastKnownIp"`
	GlobalIP           string       `json:"dpGlobalIp" xml:"dpGlobalIp"`
	LastConnectTime    string       `json:"dpLastConnectTime" xml:"dpLastConnectTime"`
	LastDisconnectTime string       `json:"dpLastDisconnectTime" xml:"dpLastDisconnectTime"`
	Description        string       `json:"dpDescription" xml:"dpDescription"`
	Contact            string       `json:"dpContact" xml:"dpContact"`
	Location           string       `json:"dpLocation" xml:"dpLocation"`
	MapLat             Value        `json:"dpMapLat" xml:"dpMapLat"`
	MapLong            Value        `json:"dpMapLong" xml:"dpMapLong"`
	Tags               string       `json:"dpTags" xml:"dpTags"`
	RecordStartDate    string       `json:"devRecordStartDate" xml:"devRecordStartDate"`
	EffectiveStartDate string       `json:"devEffectiveStartDate" xml:"devEffectiveStartDate"`
	Terminated         Value        `json:"devTerminated" xml:"devTerminated"`
	RestrictedStatus   Number       `json:"dpRestrictedStatus" xml:"dpRestrictedStatus"`
	Capabilities       Number       `json:"dpCapabilities" xml:"dpCapabilities"`
	VendorID           Value        `json:"dvVendorId" xml:"dvVendorId"`
}

// DeviceCoreID identifies a version of a device record.
type DeviceCoreID struct {
	DevID      Number `json:"devId" xml:"devId"`
	DevVersion Number `json:"devVersion" xml:"devVersion"`
}

// Connected reports whether dpConnectionStatus is 1.
func (d DeviceCore) Connected() bool { return d.ConnectionStatus == 1 }

// FileData is a file stored in the account.
// Its strings share the event's Body: see DataPoint for the memory rules.
type FileData struct {
	ID FileDataID `json:"id" xml:"id"`
	// Base64 is fdData as sent; Data is its decoded content (nil when the
	// file is empty, when fdData is absent). Data is filled by
	// Event.FileData, not by Decode.
	Base64           string `json:"fdData" xml:"fdData"`
	Data             []byte `json:"-" xml:"-"`
	Size             Number `json:"fdSize" xml:"fdSize"`
	ContentType      string `json:"fdContentType" xml:"fdContentType"`
	Type             string `json:"fdType" xml:"fdType"` // "file", "directory" or "event"
	Archive          Value  `json:"fdArchive" xml:"fdArchive"`
	CreatedDate      string `json:"fdCreatedDate" xml:"fdCreatedDate"`
	LastModifiedDate string `json:"fdLastModifiedDate" xml:"fdLastModifiedDate"`
	CustomerID       Number `json:"cstId" xml:"cstId"`
}

// FileDataID is a file's path and name.
type FileDataID struct {
	Path string `json:"fdPath" xml:"fdPath"`
	Name string `json:"fdName" xml:"fdName"`
}

// FileDataCore is a file's metadata, without its content.
// Its strings share the event's Body: see DataPoint for the memory rules.
type FileDataCore struct {
	ID               FileDataID `json:"id" xml:"id"`
	Size             Number     `json:"fdSize" xml:"fdSize"`
	ContentType      string     `json:"fdContentType" xml:"fdContentType"`
	Type             string     `json:"fdType" xml:"fdType"`
	Archive          Value      `json:"fdArchive" xml:"fdArchive"`
	CreatedDate      string     `json:"fdCreatedDate" xml:"fdCreatedDate"`
	LastModifiedDate string     `json:"fdLastModifiedDate" xml:"fdLastModifiedDate"`
	CustomerID       Number     `json:"cstId" xml:"cstId"`
}

// XbeeCore is an XBee (ZigBee) node seen by a gateway.
// Its strings share the event's Body: see DataPoint for the memory rules.
type XbeeCore struct {
	CustomerID      Number `json:"cstId" xml:"cstId"`
	GroupID         Number `json:"grpId" xml:"grpId"`
	GroupPath       string `json:"grpPath" xml:"grpPath"`
	ConnectwareID   string `json:"devConnectwareId" xml:"devConnectwareId"` // the gateway
	ExtAddr         string `json:"xpExtAddr" xml:"xpExtAddr"`               // 64-bit extended address
	NetAddr         Value  `json:"xpNetAddr" xml:"xpNetAddr"`               // 16-bit network address
	NodeType        Number `json:"xpNodeType" xml:"xpNodeType"`             // 0 coordinator, 1 router, 2 end node
	ParentAddr      Value  `json:"xpParentAddr" xml:"xpParentAddr"`
	ProfileID       Value  `json:"xpProfileId" xml:"xpProfileId"`
	MfgID           Value  `json:"xpMfgId" xml:"xpMfgId"`
	DeviceType      Number `json:"xpDeviceType" xml:"xpDeviceType"` // module type << 16 | product type
	NodeID          string `json:"xpNodeId" xml:"xpNodeId"`
	DiscoveryIndex  Number `json:"xpDiscoveryIndex" xml:"xpDiscoveryIndex"`
	ModuleTypeDesc  string `json:"xmtModuleTypeDesc" xml:"xmtModuleTypeDesc"`
	ProductTypeDesc string `json:"xptProductTypeDesc" xml:"xptProductTypeDesc"`
	Status          Number `json:"xpStatus" xml:"xpStatus"` // Smart Energy nodes: 0 disconnected, 1 connected
	UpdateTime      string `json:"xpUpdateTime" xml:"xpUpdateTime"`
	UserMetaData    string `json:"xpUserMetaData" xml:"xpUserMetaData"`
}
