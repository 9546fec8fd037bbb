package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
)

// fakeRemoteManager stands in for https://remotemanager.digi.com: it
// creates monitor 1234 and lists two monitors.
func fakeRemoteManager() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
			http.Error(w, "<result><error>unauthorized</error></result>", http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/ws/Monitor":
			body, _ := io.ReadAll(r.Body)
			fmt.Println("server received:", string(body))
			w.Header().Set("Location", "Monitor/1234")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `<?xml version="1.0" encoding="ISO-8859-1"?>`+
				"\n<result>\n   <location>Monitor/1234</location>\n</result>")
		case r.Method == http.MethodGet && r.URL.Path == "/ws/Monitor":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"resultTotalRows": "2", "requestedStartRow": "0", "resultSize": "2",
				"requestedSize": "1000", "remainingSize": "0",
				"items": []map[string]string{
					{"monId": "178007", "cstId": "7603", "monTopic": "DeviceCore,DataPoint",
						"monTransportType": "tcp", "monStatus": "INACTIVE"},
					{"monId": "178008", "cstId": "7603", "monTopic": "DataPoint,DeviceCore,FileData",
						"monTransportType": "tcp", "monStatus": "ACTIVE"},
				},
			})
		default:
			http.NotFound(w, r)
		}
	}))
}

func ExampleClient_Create() {
	srv := fakeRemoteManager()
	defer srv.Close()

	ctx := context.Background()
	api := monitor.NewClient(srv.URL, monitor.WithBasicAuth("user", "secret"))
	defer api.CloseIdleConnections()

	id, err := api.Create(ctx, monitor.Spec{
		Topics:        []string{"DeviceCore", "DataPoint"},
		Format:        monitor.JSON,
		Compression:   monitor.Zlib,
		BatchSize:     100,
		BatchDuration: 10 * time.Second,
		Ack:           monitor.AckExplicit,
		Persistent:    true,
		Description:   "R&D <lab>",
	})
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	fmt.Println("created monitor", id)
	// Output:
	// server received: <Monitor><monTopic>DeviceCore,DataPoint</monTopic><monFormatType>json</monFormatType><monBatchSize>100</monBatchSize><monBatchDuration>10</monBatchDuration><monCompression>zlib</monCompression><monAckOption>explicit</monAckOption><monAutoReplayOnConnect>true</monAutoReplayOnConnect><monDescription>R&amp;D &lt;lab&gt;</monDescription></Monitor>
	// created monitor 1234
}

func ExampleClient_FindByTopics() {
	srv := fakeRemoteManager()
	defer srv.Close()

	ctx := context.Background()
	api := monitor.NewClient(srv.URL, monitor.WithBasicAuth("user", "secret"))
	defer api.CloseIdleConnections()

	// Order does not matter; a monitor with an extra topic does not match.
	found, err := api.FindByTopics(ctx, []string{"DataPoint", "DeviceCore"})
	if err != nil {
		fmt.Println("find:", err)
		return
	}
	for _, m := range found {
		fmt.Println(m.ID, strings.Join(m.Topics, ","), m.Status)
	}
	// Output:
	// 178007 DeviceCore,DataPoint INACTIVE
}

// A Spec's Token and Headers are secret.Strings: however the Spec is
// printed or encoded, they come out redacted; only the request to Remote
// Manager carries them.
func ExampleSpec_secrets() {
	spec := monitor.Spec{
		Topics:    []string{"DataPoint"},
		Transport: monitor.TransportHTTP,
		URL:       "https://hooks.example.com/rm",
		Token:     secret.New("hook:s3cret"),
		Headers:   []secret.String{secret.New("X-Api-Key: k-123")},
	}
	fmt.Printf("%v %v\n", spec.Token, spec.Headers)
	b, _ := json.Marshal(struct{ Token, URL any }{spec.Token, spec.URL})
	fmt.Println(string(b))

	// Credentials in the URL are refused: the server authenticates to the
	// URL with Token.
	spec.URL = "https://hook:s3cret@hooks.example.com/rm"
	fmt.Println(spec.Validate())
	// Output:
	// [REDACTED] [[REDACTED]]
	// {"Token":"[REDACTED]","URL":"https://hooks.example.com/rm"}
	// monitor: invalid spec: URL: must not carry user info: put "user:password" in Token
}
