package stream

import (
	"bytes"
	"encoding/base64"
	"unsafe"

	"github.com/pushmon/pushmon/internal/jsondec"
)

// DataPoint decodes a DataPoint event's body.
//
// Like every typed accessor it refuses an event of another resource
// (ErrWrongResource) and decodes the body, JSON or XML, on each call:
// consumers that only route on Event.Resource pay nothing, and the result
// is the caller's (its strings share Body: see the DataPoint type). It is
// safe to call from several goroutines on copies of the same Event. A JSON
// body is decoded as encoding/json would decode it into the same type, as
// strictly, without reflection and without allocating; an XML body with
// encoding/xml. Errors are *DecodeError, returned with the zero value:
// never with the members decoded before the error.
func (e Event) DataPoint() (DataPoint, error) {
	if err := e.checkResource("DataPoint"); err != nil {
		return DataPoint{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[DataPoint](e, "DataPoint")
	}
	var v DataPoint
	if err := jsonError("DataPoint", parseDataPointJSON(e.Body, &v)); err != nil {
		return DataPoint{}, err
	}
	return v, nil
}

// DataStream decodes a DataStream event's body, as DataPoint does.
func (e Event) DataStream() (DataStream, error) {
	if err := e.checkResource("DataStream"); err != nil {
		return DataStream{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[DataStream](e, "DataStream")
	}
	var v DataStream
	if err := jsonError("DataStream", parseDataStreamJSON(e.Body, &v)); err != nil {
		return DataStream{}, err
	}
	return v, nil
}

// DeviceCore decodes a DeviceCore event's body, as DataPoint does.
func (e Event) DeviceCore() (DeviceCore, error) {
	if err := e.checkResource("DeviceCore"); err != nil {
		return DeviceCore{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[DeviceCore](e, "DeviceCore")
	}
	var v DeviceCore
	if err := jsonError("DeviceCore", parseDeviceCoreJSON(e.Body, &v)); err != nil {
		return DeviceCore{}, err
	}
	return v, nil
}

// FileData decodes a FileData event's body, Base64-decoding the content
// into Data (white space in fdData is ignored); otherwise as DataPoint
// does, except that Data is allocated.
func (e Event) FileData() (FileData, error) {
	if err := e.checkResource("FileData"); err != nil {
		return FileData{}, err
	}
	var v FileData
	var err error
	if e.bodyIsXML() {
		v, err = decodeXML[FileData](e, "FileData")
	} else if err = jsonError("FileData", parseFileDataJSON(e.Body, &v)); err != nil {
		v = FileData{}
	}
	if err != nil || len(v.Base64) == 0 {
		return v, err
	}
	if v.Data, err = decodeBase64(v.Base64); err != nil {
		return FileData{}, &DecodeError{Resource: "FileData", Format: e.formatName(), Offset: -1,
			Msg: "fdData: " + err.Error(), Err: err}
	}
	return v, nil
}

// decodeBase64 decodes standard Base64 with white space anywhere (the
// decoder itself skips CR and LF); no content (white space only) is nil.
func decodeBase64(s string) ([]byte, error) {
	// Read s in place: the decoder does not write to its source.
	src := unsafe.Slice(unsafe.StringData(s), len(s))
	if bytes.ContainsAny(src, " \t") {
		src = bytes.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, src)
	}
	data := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(data, src)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	return data[:n], nil
}

func (e Event) formatName() string {
	if e.bodyIsXML() {
		return "XML"
	}
	return "JSON"
}

// FileDataCore decodes a FileDataCore event's body, as DataPoint does.
func (e Event) FileDataCore() (FileDataCore, error) {
	if err := e.checkResource("FileDataCore"); err != nil {
		return FileDataCore{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[FileDataCore](e, "FileDataCore")
	}
	var v FileDataCore
	if err := jsonError("FileDataCore", parseFileDataCoreJSON(e.Body, &v)); err != nil {
		return FileDataCore{}, err
	}
	return v, nil
}

// XbeeCore decodes an XbeeCore event's body, as DataPoint does.
func (e Event) XbeeCore() (XbeeCore, error) {
	if err := e.checkResource("XbeeCore"); err != nil {
		return XbeeCore{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[XbeeCore](e, "XbeeCore")
	}
	var v XbeeCore
	if err := jsonError("XbeeCore", parseXbeeCoreJSON(e.Body, &v)); err != nil {
		return XbeeCore{}, err
	}
	return v, nil
}

// Alarm decodes an Alarm event's body, as DataPoint does.
func (e Event) Alarm() (Alarm, error) {
	if err := e.checkResource("Alarm"); err != nil {
		return Alarm{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[Alarm](e, "Alarm")
	}
	var v Alarm
	if err := jsonError("Alarm", parseAlarmJSON(e.Body, &v)); err != nil {
		return Alarm{}, err
	}
	return v, nil
}

// AlarmStatus decodes an AlarmStatus event's body, as DataPoint does.
func (e Event) AlarmStatus() (AlarmStatus, error) {
	if err := e.checkResource("AlarmStatus"); err != nil {
		return AlarmStatus{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[AlarmStatus](e, "AlarmStatus")
	}
	var v AlarmStatus
	if err := jsonError("AlarmStatus", parseAlarmStatusJSON(e.Body, &v)); err != nil {
		return AlarmStatus{}, err
	}
	return v, nil
}

// V1Device decodes a "devices" event's body, as DataPoint does.
func (e Event) V1Device() (V1Device, error) {
	if err := e.checkResource("devices"); err != nil {
		return V1Device{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[V1Device](e, "devices")
	}
	var v V1Device
	if err := jsonError("devices", parseV1DeviceJSON(e.Body, &v)); err != nil {
		return V1Device{}, err
	}
	return v, nil
}

// V1AlertStatus decodes an "alert_status" event's body, as DataPoint does.
func (e Event) V1AlertStatus() (V1AlertStatus, error) {
	if err := e.checkResource("alert_status"); err != nil {
		return V1AlertStatus{}, err
	}
	if e.bodyIsXML() {
		return decodeXML[V1AlertStatus](e, "alert_status")
	}
	var v V1AlertStatus
	if err := jsonError("alert_status", parseV1AlertStatusJSON(e.Body, &v)); err != nil {
		return V1AlertStatus{}, err
	}
	return v, nil
}

// Job decodes a Job event's body as a Record, as DataPoint does.
func (e Event) Job() (Job, error) {
	r, err := e.record("Job")
	return Job{r}, err
}

// JobResult decodes a JobResult event's body as a Record, as DataPoint does.
func (e Event) JobResult() (JobResult, error) {
	r, err := e.record("JobResult")
	return JobResult{r}, err
}

// V1Job decodes a "jobs" event's body as a Record, as DataPoint does.
func (e Event) V1Job() (V1Job, error) {
	r, err := e.record("jobs")
	return V1Job{r}, err
}

// Record decodes the body of an event of any resource as its list of
// top-level members (see Record); the Record of a raw event, a template's
// output, is its document's top-level object or root element's children.
// An invalid event returns its Err.
func (e Event) Record() (Record, error) {
	if e.Err != nil {
		return nil, e.Err
	}
	name := e.Resource
	if name == "" {
		name = "document"
	}
	return e.decodeRecord(name)
}

func (e Event) record(resource string) (Record, error) {
	if err := e.checkResource(resource); err != nil {
		return nil, err
	}
	return e.decodeRecord(resource)
}

func (e Event) decodeRecord(resource string) (Record, error) {
	if e.bodyIsXML() {
		return decodeXML[Record](e, resource)
	}
	var r Record
	var d jsondec.Decoder
	d.Reset(e.Body)
	decodeRecordJSON(&d, &r)
	if err := jsonError(resource, d.Finish()); err != nil {
		return nil, err
	}
	return r, nil
}
