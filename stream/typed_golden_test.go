package stream

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Golden bodies of every typed resource, JSON and XML. The element names
// and shapes come from the sources named in each case (values are made up
// where the source gives none); JSON pushes send numbers where REST output
// sends strings, and both forms are checked.

type golden struct {
	source string // where the shape comes from
	event  Event
	want   any
}

func jsonEvent(resource, body string) Event {
	return Event{Resource: resource, Format: FormatJSON, Body: []byte(body)}
}

func xmlEvent(resource, body string) Event {
	return Event{Resource: resource, Format: FormatXML, Body: []byte(body)}
}

// accessors are the typed accessors by resource.
var accessors = map[string]func(Event) (any, error){
	"DataPoint":    func(e Event) (any, error) { return e.DataPoint() },
	"DataStream":   func(e Event) (any, error) { return e.DataStream() },
	"DeviceCore":   func(e Event) (any, error) { return e.DeviceCore() },
	"FileData":     func(e Event) (any, error) { return e.FileData() },
	"FileDataCore": func(e Event) (any, error) { return e.FileDataCore() },
	"XbeeCore":     func(e Event) (any, error) { return e.XbeeCore() },
	"Alarm":        func(e Event) (any, error) { return e.Alarm() },
	"AlarmStatus":  func(e Event) (any, error) { return e.AlarmStatus() },
	"devices":      func(e Event) (any, error) { return e.V1Device() },
	"alert_status": func(e Event) (any, error) { return e.V1AlertStatus() },
	"Job":          func(e Event) (any, error) { return e.Job() },
	"JobResult":    func(e Event) (any, error) { return e.JobResult() },
	"jobs":         func(e Event) (any, error) { return e.V1Job() },
}

// decodeAny calls the accessor of the event's resource, Record for others.
func decodeAny(e Event) (any, error) {
	if f, ok := accessors[e.Resource]; ok {
		return f(e)
	}
	return e.Record()
}

var dataPoint = DataPoint{ID: "684572e0-12c4-11e5-8507-fa163ed4cf14", CustomerID: 7603, StreamID: "test",
	Data: "0.4117", Timestamp: 1434307047694, ServerTimestamp: 1434307047694}

var goldens = []golden{
	{
		// Remote Manager's push monitor documentation, DataPoint event
		// (also what the project's simulator sends).
		source: "push example: numbers unquoted",
		event:  jsonEvent("DataPoint", `{"cstId":7603,"data":0.4117,"description":"","id":"684572e0-12c4-11e5-8507-fa163ed4cf14","quality":0,"serverTimestamp":1434307047694,"streamId":"test","streamUnits":"","timestamp":1434307047694}`),
		want:   dataPoint,
	},
	{
		// Remote Manager's DataPoint REST output (JSON), as in the test
		// fixtures of Digi's python-devicecloud library: every value a
		// string, plus the ISO forms of the times.
		source: "REST output: strings",
		event: jsonEvent("DataPoint", `{"id":"75b0e84b-0968-11e4-9041-fa163e8f4b62","cstId":"7603","streamId":"test",
			"timestamp":"1405130498373","timestampISO":"2014-07-12T02:01:38.373Z","serverTimestamp":"1405130498373",
			"serverTimestampISO":"2014-07-12T02:01:38.373Z","data":"3.14159265359","description":"","quality":"0"}`),
		want: DataPoint{ID: "75b0e84b-0968-11e4-9041-fa163e8f4b62", CustomerID: 7603, StreamID: "test",
			Timestamp: 1405130498373, TimestampISO: "2014-07-12T02:01:38.373Z", ServerTimestamp: 1405130498373,
			ServerTimestampISO: "2014-07-12T02:01:38.373Z", Data: "3.14159265359"},
	},
	{
		// The same elements in the XML format of a push.
		source: "XML push",
		event: xmlEvent("DataPoint", `<DataPoint><cstId>7603</cstId><data>0.4117</data><description></description>
			<id>684572e0-12c4-11e5-8507-fa163ed4cf14</id><quality>0</quality><serverTimestamp>1434307047694</serverTimestamp>
			<streamId>test</streamId><streamUnits></streamUnits><timestamp>1434307047694</timestamp></DataPoint>`),
		want: dataPoint,
	},
	{
		// Remote Manager's monitor event payload documentation, JSON form:
		// id{devId,devVersion}, devMac; other elements as in a DeviceCore
		// push captured from the server.
		source: "monitor event payload example",
		event: jsonEvent("DeviceCore", `{"id":{"devId":882,"devVersion":7},"devMac":"00:40:9D:3D:71:15",
			"devConnectwareId":"00000000-00000000-00409DFF-FF3D7115","cstId":3,"grpId":3,"grpPath":"","dpDeviceType":"ConnectPort X2",
			"dpFirmwareLevel":34209792,"dpConnectionStatus":1,"dpLastKnownIp":"10.8.16.17","dpGlobalIp":"66.77.174.126",
			"dpLastConnectTime":"2010-12-03T13:34:00.000Z","dpMapLat":44.932017,"dpMapLong":-93.461594,"devTerminated":false,
			"dpRestrictedStatus":0,"dpCapabilities":67108864,"dvVendorId":4261412864,"devRecordStartDate":"2010-12-03T13:34:00Z"}`),
		want: DeviceCore{ID: DeviceCoreID{DevID: 882, DevVersion: 7}, MAC: "00:40:9D:3D:71:15",
			ConnectwareID: "00000000-00000000-00409DFF-FF3D7115", CustomerID: 3, GroupID: 3, DeviceType: "ConnectPort X2",
			FirmwareLevel: "34209792", ConnectionStatus: 1, LastKnownIP: "10.8.16.17", GlobalIP: "66.77.174.126",
			LastConnectTime: "2010-12-03T13:34:00.000Z", MapLat: "44.932017", MapLong: "-93.461594", Terminated: "false",
			Capabilities: 67108864, VendorID: "4261412864", RecordStartDate: "2010-12-03T13:34:00Z"},
	},
	{
		// The same documentation's XML form (operation in lower case).
		source: "monitor event payload example, XML",
		event: xmlEvent("DeviceCore", `<DeviceCore>
        <id>
            <devId>882</devId>
            <devVersion>7</devVersion>
        </id>
        <devRecordStartDate>2010-12-03T13:34:00Z</devRecordStartDate>
        <devMac>00:40:9D:3D:71:15</devMac>
        <devConnectwareId>00000000-00000000-00409DFF-FF3D7115</devConnectwareId>
        <devCellularModemId>357542004580938</devCellularModemId>
    </DeviceCore>`),
		want: DeviceCore{ID: DeviceCoreID{DevID: 882, DevVersion: 7}, RecordStartDate: "2010-12-03T13:34:00Z",
			MAC: "00:40:9D:3D:71:15", ConnectwareID: "00000000-00000000-00409DFF-FF3D7115", CellularModemID: "357542004580938"},
	},
	{
		// Remote Manager's FileData web service elements; fdData is
		// standard Base64 and may be wrapped.
		source: "FileData elements",
		event: jsonEvent("FileData", `{"id":{"fdPath":"/db/4044_x/00000000-00000000-001395FF-FF0E6012/alert/","fdName":"foo.json"},
			"cstId":4044,"fdCreatedDate":"2015-06-14T18:37:27.694Z","fdLastModifiedDate":"2015-06-14T18:37:27.694Z",
			"fdContentType":"application/json","fdSize":7,"fdType":"event","fdArchive":false,"fdData":"eyJhIjox\nfQ=="}`),
		want: FileData{ID: FileDataID{Path: "/db/4044_x/00000000-00000000-001395FF-FF0E6012/alert/", Name: "foo.json"},
			CustomerID: 4044, CreatedDate: "2015-06-14T18:37:27.694Z", LastModifiedDate: "2015-06-14T18:37:27.694Z",
			ContentType: "application/json", Size: 7, Type: "event", Archive: "false", Base64: "eyJhIjox\nfQ==",
			Data: []byte(`{"a":1}`)},
	},
	{
		source: "FileData elements, XML",
		event: xmlEvent("FileData", `<FileData><id><fdPath>/db/x/</fdPath><fdName>note.txt</fdName></id><cstId>4044</cstId>
			<fdContentType>text/plain</fdContentType><fdSize>5</fdSize><fdType>file</fdType><fdData>aGVs
			bG8=</fdData></FileData>`),
		want: FileData{ID: FileDataID{Path: "/db/x/", Name: "note.txt"}, CustomerID: 4044, ContentType: "text/plain",
			Size: 5, Type: "file", Base64: "aGVs\n\t\t\tbG8=", Data: []byte("hello")},
	},
	{
		// FileDataCore events carry a file's metadata: the FileData
		// elements without fdData.
		source: "FileData elements without content",
		event: jsonEvent("FileDataCore", `{"id":{"fdPath":"/db/x/","fdName":"big.bin"},"cstId":"4044","fdSize":"200000",
			"fdType":"file","fdContentType":"application/octet-stream","fdLastModifiedDate":"2015-06-14T18:37:27.694Z"}`),
		want: FileDataCore{ID: FileDataID{Path: "/db/x/", Name: "big.bin"}, CustomerID: 4044, Size: 200000, Type: "file",
			ContentType: "application/octet-stream", LastModifiedDate: "2015-06-14T18:37:27.694Z"},
	},
	{
		source: "FileData elements without content, XML",
		event:  xmlEvent("FileDataCore", `<FileDataCore><id><fdPath>/db/x/</fdPath><fdName>big.bin</fdName></id><fdSize>200000</fdSize></FileDataCore>`),
		want:   FileDataCore{ID: FileDataID{Path: "/db/x/", Name: "big.bin"}, Size: 200000},
	},
	{
		// Remote Manager's DataStream REST output (JSON), as in the test
		// fixtures of Digi's python-devicecloud library.
		source: "DataStream REST output",
		event: jsonEvent("DataStream", `{"cstId":"7603","streamId":"test","dataType":"FLOAT","forwardTo":"",
			"currentValue":{"id":"07d77854-0557-11e4-ab44-fa163e7ebc6b","timestamp":"1404683207981",
			"timestampISO":"2014-07-06T21:46:47.981Z","serverTimestamp":"1404683207981","serverTimestampISO":"2014-07-06T21:46:47.981Z",
			"data":"123.1","description":"Test","quality":"20","location":"1.0,2.0,3.0"},
			"description":"some description","units":"light years","dataTtl":"172800","rollupTtl":"432000"}`),
		want: DataStream{CustomerID: 7603, StreamID: "test", DataType: "FLOAT", Description: "some description",
			Units: "light years", DataTTL: 172800, RollupTTL: 432000,
			CurrentValue: DataPoint{ID: "07d77854-0557-11e4-ab44-fa163e7ebc6b", Timestamp: 1404683207981,
				TimestampISO: "2014-07-06T21:46:47.981Z", ServerTimestamp: 1404683207981,
				ServerTimestampISO: "2014-07-06T21:46:47.981Z", Data: "123.1", Description: "Test", Quality: 20,
				Location: "1.0,2.0,3.0"}},
	},
	{
		source: "DataStream elements, XML",
		event: xmlEvent("DataStream", `<DataStream><cstId>7603</cstId><streamId>test</streamId><dataType>INTEGER</dataType>
			<units>rpm</units><dataTtl>172800</dataTtl><currentValue><id>u1</id><data>42</data></currentValue></DataStream>`),
		want: DataStream{CustomerID: 7603, StreamID: "test", DataType: "INTEGER", Units: "rpm", DataTTL: 172800,
			CurrentValue: DataPoint{ID: "u1", Data: "42"}},
	},
	{
		// Remote Manager's XbeeCore web service elements.
		source: "XbeeCore elements",
		event: jsonEvent("XbeeCore", `{"cstId":7603,"grpId":7603,"grpPath":"","devConnectwareId":"00000000-00000000-00409DFF-FF5DE2C1",
			"xpExtAddr":"00:13:A2:00:40:8B:5E:0A","xpNetAddr":12345,"xpNodeType":2,"xpParentAddr":4660,"xpProfileId":49413,
			"xpMfgId":4126,"xpDeviceType":196609,"xpNodeId":"sensor 3","xpDiscoveryIndex":2,"xmtModuleTypeDesc":"XBee S2C",
			"xptProductTypeDesc":"End device","xpStatus":1,"xpUpdateTime":"2015-06-14T18:37:27.694Z","xpUserMetaData":"roof"}`),
		want: XbeeCore{CustomerID: 7603, GroupID: 7603, ConnectwareID: "00000000-00000000-00409DFF-FF5DE2C1",
			ExtAddr: "00:13:A2:00:40:8B:5E:0A", NetAddr: "12345", NodeType: 2, ParentAddr: "4660", ProfileID: "49413",
			MfgID: "4126", DeviceType: 196609, NodeID: "sensor 3", DiscoveryIndex: 2, ModuleTypeDesc: "XBee S2C",
			ProductTypeDesc: "End device", Status: 1, UpdateTime: "2015-06-14T18:37:27.694Z", UserMetaData: "roof"},
	},
	{
		source: "XbeeCore elements, XML",
		event: xmlEvent("XbeeCore", `<XbeeCore><xpExtAddr>00:13:A2:00:40:8B:5E:0A</xpExtAddr><xpNetAddr>0x3039</xpNetAddr>
			<xpNodeType>0</xpNodeType><xpNodeId>coordinator</xpNodeId></XbeeCore>`),
		want: XbeeCore{ExtAddr: "00:13:A2:00:40:8B:5E:0A", NetAddr: "0x3039", NodeID: "coordinator"},
	},
	{
		// Remote Manager's Alarm web service elements (its examples are
		// XML); almScopeConfig kept as inner XML.
		source: "Alarm elements, XML",
		event: xmlEvent("Alarm", `<Alarm><almId>142</almId><cstId>2</cstId><almtID>2</almtID><grpId>2</grpId>
			<almName>Device offline</almName><almDescription>Detects device disconnects</almDescription>
			<almEnabled>true</almEnabled><almPriority>high</almPriority>
			<almScopeConfig><ScopeHandler>Device</ScopeHandler></almScopeConfig></Alarm>`),
		want: Alarm{ID: 142, CustomerID: 2, TemplateID: 2, GroupID: 2, Name: "Device offline",
			Description: "Detects device disconnects", Enabled: "true", Priority: "high",
			ScopeConfig: Raw(`<ScopeHandler>Device</ScopeHandler>`)},
	},
	{
		source: "Alarm elements, JSON",
		event: jsonEvent("Alarm", `{"almId":142,"cstId":2,"almtID":2,"grpId":2,"almName":"Device offline","almEnabled":true,
			"almPriority":0,"almScopeConfig":{"ScopeHandler":"Device"}}`),
		want: Alarm{ID: 142, CustomerID: 2, TemplateID: 2, GroupID: 2, Name: "Device offline", Enabled: "true",
			Priority: "0", ScopeConfig: Raw(`{"ScopeHandler":"Device"}`)},
	},
	{
		// Remote Manager's AlarmStatus documentation example (XML REST
		// output).
		source: "AlarmStatus example, XML",
		event: xmlEvent("AlarmStatus", `<AlarmStatus>
      <id>
         <almId>142</almId>
         <almsSourceEntityId>46911</almsSourceEntityId>
      </id>
      <almsStatus>2</almsStatus>
      <almsTopic>Alarm.System.Monitor.inactive</almsTopic>
      <cstId>2</cstId>
      <almsUpdateTime>2012-06-27T21:03:51.123Z</almsUpdateTime>
      <almsPayload><Payload><Monitor><monId>46911</monId></Monitor></Payload></almsPayload>
   </AlarmStatus>`),
		want: AlarmStatus{ID: AlarmStatusID{AlarmID: 142, SourceEntityID: "46911"}, Status: 2,
			Topic: "Alarm.System.Monitor.inactive", CustomerID: 2, UpdateTime: "2012-06-27T21:03:51.123Z",
			Payload: Raw(`<Payload><Monitor><monId>46911</monId></Monitor></Payload>`)},
	},
	{
		// An AlarmStatus push as Digi's sample web applications read it:
		// id.almId, id.almsSourceEntityId, almsStatus compared with 1,
		// almsUpdateTime, devConnectwareId.
		source: "AlarmStatus push",
		event: jsonEvent("AlarmStatus", `{"id":{"almId":41826,"almsSourceEntityId":"00000000-00000000-00409DFF-FF5DE2C1/level"},
			"almsStatus":1,"almsTopic":"Alarm.DataPoint","cstId":7603,"almsUpdateTime":"2021-03-02T10:00:00.000Z",
			"devConnectwareId":"00000000-00000000-00409DFF-FF5DE2C1"}`),
		want: AlarmStatus{ID: AlarmStatusID{AlarmID: 41826, SourceEntityID: "00000000-00000000-00409DFF-FF5DE2C1/level"},
			Status: 1, Topic: "Alarm.DataPoint", CustomerID: 7603, UpdateTime: "2021-03-02T10:00:00.000Z",
			ConnectwareID: "00000000-00000000-00409DFF-FF5DE2C1"},
	},
	{
		// Remote Manager's v1/devices fields (only those documented in
		// what is known; others go to Event.Record).
		source: "v1/devices fields",
		event: jsonEvent("devices", `{"id":"00000000-00000000-00409DFF-FF5DE2C1","name":"pump-17","type":"Digi IX20",
			"group":"Sites/North","connection_status":"connected","firmware_version":"22.2.9.85","alerts":2,
			"address":"","geoposition":{"type":"Point","coordinates":[-93.461594,44.932017]},"health_status":"normal"}`),
		want: V1Device{ID: "00000000-00000000-00409DFF-FF5DE2C1", Name: "pump-17", Type: "Digi IX20", Group: "Sites/North",
			ConnectionStatus: "connected", FirmwareVersion: "22.2.9.85", Alerts: 2,
			Geoposition: Raw(`{"type":"Point","coordinates":[-93.461594,44.932017]}`)},
	},
	{
		source: "v1/devices fields, XML",
		event:  xmlEvent("devices", `<devices><id>00000000-00000000-00409DFF-FF5DE2C1</id><name>pump-17</name><alerts>0</alerts></devices>`),
		want:   V1Device{ID: "00000000-00000000-00409DFF-FF5DE2C1", Name: "pump-17"},
	},
	{
		// The fields of an alert status as Digi's sample web applications
		// read them from Remote Manager's v1 alerts summary; the topic
		// 00000/alert_status/41826/… names the alert's id.
		source: "v1 alerts summary fields",
		event: jsonEvent("alert_status", `{"id":41826,"name":"tank_level_north","description":"Tank level below 10%",
			"status":"fired","device_id":"00000000-00000000-00409DFF-FF5DE2C1","last_update":"2021-03-02T10:00:00.000Z"}`),
		want: V1AlertStatus{ID: 41826, Name: "tank_level_north", Description: "Tank level below 10%", Status: "fired",
			DeviceID: "00000000-00000000-00409DFF-FF5DE2C1", LastUpdate: "2021-03-02T10:00:00.000Z"},
	},
	{
		source: "v1 alerts summary fields, XML",
		event:  xmlEvent("alert_status", `<alert_status><id>41826</id><status>reset</status></alert_status>`),
		want:   V1AlertStatus{ID: 41826, Status: "reset"},
	},
	{
		// Job, JobResult and jobs: no documented example establishes their
		// members, so they are Records, names and values as sent.
		source: "Job as a Record",
		event:  jsonEvent("Job", `{"jobId":7,"jobStatus":"complete","jobTargets":["dev1","dev2"],"x":null}`),
		want:   Job{Record{{"jobId", "7"}, {"jobStatus", "complete"}, {"jobTargets", `["dev1","dev2"]`}, {"x", ""}}},
	},
	{
		source: "JobResult as a Record, XML",
		event:  xmlEvent("JobResult", `<JobResult><jobId>7</jobId><device id="dev1"/><answer><ok>yes</ok></answer><msg>a &amp; b</msg></JobResult>`),
		want:   JobResult{Record{{"jobId", "7"}, {"device", ""}, {"answer", "<ok>yes</ok>"}, {"msg", "a & b"}}},
	},
	{
		source: "jobs as a Record",
		event:  jsonEvent("jobs", `{"id":12,"status":"in_progress","id":13}`),
		want:   V1Job{Record{{"id", "12"}, {"status", "in_progress"}, {"id", "13"}}},
	},
	{
		// Any other resource through Event.Record.
		source: "Group as a Record",
		event:  xmlEvent("Group", `<Group><grpId>149837</grpId><grpName>North</grpName></Group>`),
		want:   Record{{"grpId", "149837"}, {"grpName", "North"}},
	},
}

func TestTypedGoldens(t *testing.T) {
	for _, g := range goldens {
		got, err := decodeAny(g.event)
		if err != nil {
			t.Errorf("%s (%s): %v", g.event.Resource, g.source, err)
			continue
		}
		if d := cmp.Diff(g.want, got); d != "" {
			t.Errorf("%s (%s) (-want +got):\n%s", g.event.Resource, g.source, d)
		}
	}
}
