package streamtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Parsing of the legacy REST API's <Monitor> request bodies, shared by
// the v1 API's create and update.

// monitorXML is a <Monitor> request body. Absent elements are nil, so a
// PUT changes only what it names. Read-only elements (cstId, monStatus,
// monLastConnect, …) have no field: the decoder skips them.
type monitorXML struct {
	XMLName          xml.Name `xml:"Monitor"`
	MonID            *string  `xml:"monId"`
	Topic            *string  `xml:"monTopic"`
	TransportType    *string  `xml:"monTransportType"`
	FormatType       *string  `xml:"monFormatType"`
	BatchSize        *string  `xml:"monBatchSize"`
	BatchDuration    *string  `xml:"monBatchDuration"`
	Compression      *string  `xml:"monCompression"`
	AckOption        *string  `xml:"monAckOption"`
	AutoReplay       *string  `xml:"monAutoReplayOnConnect"`
	Description      *string  `xml:"monDescription"`
	TransportURL     *string  `xml:"monTransportUrl"`
	TransportToken   *string  `xml:"monTransportToken"`
	TransportMethod  *string  `xml:"monTransportMethod"`
	TransportHeaders *string  `xml:"monTransportHeaders"`
	ConnectTimeout   *string  `xml:"monConnectTimeout"`
	ResponseTimeout  *string  `xml:"monResponseTimeout"`
	SchemaType       *string  `xml:"monSchemaType"`
	SchemaData       *string  `xml:"monSchemaData"`
}

func parseMonitorXML(body []byte) (*monitorXML, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charsetReader
	var x monitorXML
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return &x, nil
}

// charsetReader lets request bodies declare ISO-8859-1 (as the service's
// own responses do) or US-ASCII.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "utf8":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		u := make([]byte, 0, len(b)+len(b)/4)
		for _, c := range b {
			u = utf8.AppendRune(u, rune(c))
		}
		return bytes.NewReader(u), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}

// writable reports whether the body names any element a client may set.
func (x *monitorXML) writable() bool {
	for _, p := range []*string{x.Topic, x.TransportType, x.FormatType, x.BatchSize, x.BatchDuration,
		x.Compression, x.AckOption, x.AutoReplay, x.Description, x.TransportURL, x.TransportToken,
		x.TransportMethod, x.TransportHeaders, x.ConnectTimeout, x.ResponseTimeout, x.SchemaType, x.SchemaData} {
		if p != nil {
			return true
		}
	}
	return false
}

// apply overlays the elements present in x on spec.
func (x *monitorXML) apply(spec MonitorSpec) (MonitorSpec, error) {
	trim := func(p *string) string { return strings.TrimSpace(*p) }
	if x.Topic != nil {
		spec.Topics = splitTopics(*x.Topic)
	}
	if x.TransportType != nil {
		if spec.Transport = trim(x.TransportType); spec.Transport == "" {
			return spec, specErr("monTransportType", "empty")
		}
	}
	if x.FormatType != nil {
		if spec.Format = trim(x.FormatType); spec.Format == "" {
			return spec, specErr("monFormatType", "empty")
		}
	}
	if x.Compression != nil {
		if spec.Compression = trim(x.Compression); spec.Compression == "" {
			return spec, specErr("monCompression", "empty")
		}
	}
	if x.BatchSize != nil {
		n, err := strconv.Atoi(trim(x.BatchSize))
		if err != nil || n < 1 || n > 0xFFFF {
			return spec, specErr("monBatchSize", "must be 1…65535")
		}
		spec.BatchSize = n
	}
	if x.BatchDuration != nil {
		n, err := strconv.Atoi(trim(x.BatchDuration))
		if err != nil || n < 0 || n > 86400 {
			return spec, specErr("monBatchDuration", "must be 0…86400 seconds")
		}
		spec.BatchDuration = time.Duration(n) * time.Second
		if n == 0 {
			spec.BatchDuration = -1 // no wait
		}
	}
	if x.AckOption != nil {
		switch strings.ToLower(trim(x.AckOption)) {
		case "explicit":
			spec.AckExplicit = true
		case "off":
			spec.AckExplicit = false
		default:
			return spec, specErr("monAckOption", "must be explicit or off")
		}
	}
	if x.AutoReplay != nil {
		switch strings.ToLower(trim(x.AutoReplay)) {
		case "true":
			spec.Persistent = true
		case "false":
			spec.Persistent = false
		default:
			return spec, specErr("monAutoReplayOnConnect", "must be true or false")
		}
	}
	if x.Description != nil {
		spec.Description = *x.Description
	}
	if x.TransportURL != nil {
		spec.TransportURL = trim(x.TransportURL)
	}
	if x.TransportToken != nil {
		spec.TransportToken = Secret(*x.TransportToken)
	}
	if x.TransportMethod != nil {
		spec.TransportMethod = trim(x.TransportMethod)
	}
	if x.TransportHeaders != nil {
		spec.TransportHeaders = *x.TransportHeaders
	}
	for _, t := range []struct {
		p     *string
		name  string
		field *time.Duration
	}{{x.ConnectTimeout, "monConnectTimeout", &spec.ConnectTimeout}, {x.ResponseTimeout, "monResponseTimeout", &spec.ResponseTimeout}} {
		if t.p != nil {
			n, err := strconv.Atoi(trim(t.p))
			if err != nil || n < 0 {
				return spec, specErr(t.name, "must be milliseconds ≥ 0")
			}
			*t.field = time.Duration(n) * time.Millisecond
		}
	}
	if x.SchemaType != nil {
		spec.SchemaType = trim(x.SchemaType)
	}
	if x.SchemaData != nil {
		spec.SchemaData = *x.SchemaData
	}
	return spec, nil
}

// overlay applies x to base (apply) and validates the result, filling in
// defaults (normalizeSpec): the spec a create or a PUT of x makes.
func (x *monitorXML) overlay(base MonitorSpec) (MonitorSpec, []topicFilter, error) {
	spec, err := x.apply(base)
	if err != nil {
		return spec, nil, err
	}
	return normalizeSpec(spec)
}

// createSpec is the spec a create (POST) of x makes, in either REST API.
// Defaults (protocol package documentation §5): 100 events per block (normalizeSpec's 1 is
// for CreateMonitor) and normalizeSpec's 10 s batch duration.
func (x *monitorXML) createSpec() (MonitorSpec, []topicFilter, error) {
	return x.overlay(MonitorSpec{BatchSize: 100})
}
