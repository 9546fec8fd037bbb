package stream

import (
	"encoding/json"
	"testing"
	"time"
)

// Typical bodies of the common resources, as the JSON pushes send them
// (numbers unquoted). Shapes: see typed_golden_test.go.
var benchBodies = []struct {
	resource string
	body     string
}{
	{"DataPoint", `{"cstId":7603,"data":0.4117,"description":"","id":"684572e0-12c4-11e5-8507-fa163ed4cf14","quality":0,"serverTimestamp":1434307047694,"streamId":"00000000-00000000-00409DFF-FF5DE2C1/metrics/sys/cpu/used","streamUnits":"%","timestamp":1434307047694}`},
	{"DeviceCore", `{"id":{"devId":6283,"devVersion":0},"devRecordStartDate":"2012-04-17T14:13:00.000Z","devMac":"00:40:9D:45:87:26","devConnectwareId":"00000000-00000000-00409DFF-FF458726","cstId":1654,"grpId":1654,"grpPath":"","devEffectiveStartDate":"2012-04-17T14:13:00.000Z","devTerminated":false,"dvVendorId":4261412864,"dpDeviceType":"ConnectPort X2","dpFirmwareLevel":34209792,"dpRestrictedStatus":0,"dpLastKnownIp":"10.8.16.17","dpGlobalIp":"66.77.174.126","dpConnectionStatus":1,"dpLastConnectTime":"2012-04-17T14:14:07.000Z","dpContact":"","dpDescription":"","dpLocation":"","dpMapLat":44.932017,"dpMapLong":-93.461594,"dpCapabilities":67108864,"dpTags":""}`},
	{"FileData", `{"id":{"fdPath":"/db/4044_x/00000000-00000000-001395FF-FF0E6012/alert/","fdName":"foo.json"},"fdType":"event","fdContentType":"application/json","fdSize":48,"fdCreatedDate":"2015-06-14T18:37:27.694Z","fdLastModifiedDate":"2015-06-14T18:37:27.694Z","fdArchive":false,"cstId":4044,"fdData":"eyJhbGVydCI6ICJ0ZW1wZXJhdHVyZSIsICJ2YWx1ZSI6IDQ4LjV9"}`},
	{"DataStream", `{"cstId":7603,"streamId":"test","dataType":"FLOAT","forwardTo":"","currentValue":{"id":"07d77854-0557-11e4-ab44-fa163e7ebc6b","timestamp":1404683207981,"serverTimestamp":1404683207981,"data":123.1,"description":"Test","quality":20,"location":"1.0,2.0,3.0"},"description":"some description","units":"light years","dataTtl":172800,"rollupTtl":432000}`},
	{"AlarmStatus", `{"id":{"almId":142,"almsSourceEntityId":"00000000-00000000-00409DFF-FF5DE2C1"},"almsStatus":1,"almsTopic":"Alarm.System.Device.disconnected","cstId":7603,"almsUpdateTime":"2015-06-14T18:37:27.694Z","devConnectwareId":"00000000-00000000-00409DFF-FF5DE2C1"}`},
	{"XbeeCore", `{"cstId":7603,"grpId":7603,"grpPath":"","devConnectwareId":"00000000-00000000-00409DFF-FF5DE2C1","xpExtAddr":"00:13:A2:00:40:8B:5E:0A","xpNetAddr":12345,"xpNodeType":1,"xpParentAddr":65534,"xpProfileId":49413,"xpMfgId":4126,"xpDeviceType":196609,"xpNodeId":"router 1","xpDiscoveryIndex":2,"xmtModuleTypeDesc":"XBee S2C","xptProductTypeDesc":"Router","xpStatus":1,"xpUpdateTime":"2015-06-14T18:37:27.694Z","xpUserMetaData":""}`},
	{"devices", `{"id":"00000000-00000000-00409DFF-FF5DE2C1","name":"pump-17","type":"Digi IX20","group":"Sites/North","address":"","connection_status":"connected","firmware_version":"22.2.9.85","alerts":0,"geoposition":{"type":"Point","coordinates":[-93.461594,44.932017]}}`},
}

// decodeFast is the typed accessor's JSON path for a resource.
func decodeFast(resource string, body []byte) error {
	switch resource {
	case "DataPoint":
		var v DataPoint
		return parseDataPointJSON(body, &v)
	case "DeviceCore":
		var v DeviceCore
		return parseDeviceCoreJSON(body, &v)
	case "FileData":
		var v FileData
		return parseFileDataJSON(body, &v)
	case "DataStream":
		var v DataStream
		return parseDataStreamJSON(body, &v)
	case "AlarmStatus":
		var v AlarmStatus
		return parseAlarmStatusJSON(body, &v)
	case "XbeeCore":
		var v XbeeCore
		return parseXbeeCoreJSON(body, &v)
	case "devices":
		var v V1Device
		return parseV1DeviceJSON(body, &v)
	}
	panic(resource)
}

// decodeStd is encoding/json into the same type.
func decodeStd(resource string, body []byte) error {
	var v any
	switch resource {
	case "DataPoint":
		v = new(DataPoint)
	case "DeviceCore":
		v = new(DeviceCore)
	case "FileData":
		v = new(FileData)
	case "DataStream":
		v = new(DataStream)
	case "AlarmStatus":
		v = new(AlarmStatus)
	case "XbeeCore":
		v = new(XbeeCore)
	case "devices":
		v = new(V1Device)
	}
	return json.Unmarshal(body, v)
}

// BenchmarkTypedJSON times each resource's typed decoder (ns/op,
// allocs/op) and, interleaved with it in chunks in the same run,
// encoding/json into the same type (json-ns/op, untimed by the
// framework); x-faster is their ratio.
func BenchmarkTypedJSON(b *testing.B) {
	for _, c := range benchBodies {
		body := []byte(c.body)
		if err := decodeFast(c.resource, body); err != nil {
			b.Fatal(err)
		}
		b.Run(c.resource, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var stdTime time.Duration
			stdN := 0
			const chunk = 64
			for i := 0; i < b.N; i += chunk {
				n := min(chunk, b.N-i)
				for range n {
					_ = decodeFast(c.resource, body)
				}
				b.StopTimer()
				start := time.Now()
				for range n {
					_ = decodeStd(c.resource, body)
				}
				stdTime += time.Since(start)
				stdN += n
				b.StartTimer()
			}
			b.StopTimer()
			fast := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			std := float64(stdTime.Nanoseconds()) / float64(stdN)
			b.ReportMetric(std, "json-ns/op")
			b.ReportMetric(std/fast, "x-faster")
		})
	}
}

// BenchmarkEventDataPoint is Event.DataPoint on a push body ("accessor")
// and what the accessor did before the typed decoders, encoding/json into
// the same type after the same resource check ("encoding-json"): run each
// alone with -cpuprofile for the profiles of benchmarks/README.md.
func BenchmarkEventDataPoint(b *testing.B) {
	ev := jsonEvent("DataPoint", benchBodies[0].body)
	b.Run("accessor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.DataPoint(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := ev.checkResource("DataPoint"); err != nil {
				b.Fatal(err)
			}
			var dp DataPoint
			if err := json.Unmarshal(ev.Body, &dp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
