package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// A NATS URL may carry a token as its user info ("nats://TOKEN@host", the
// NATS client's token authentication): the bridge's logs must not print it.
func TestNATSTokenURLNotLogged(t *testing.T) {
	const token = "s3cretNATStoken"
	ns := startNATS(t, &server.Options{Host: "127.0.0.1", Port: -1, Authorization: token})
	addr := ns.Addr().String()
	for _, u := range []string{"nats://" + token + "@" + addr, "nats://user:" + token + "@" + addr} {
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		// The token URL must connect: its wait only turns a hang into a
		// failure, however busy the machine. The user:token URL's login is
		// refused, and retried (each failure logged) until its 2 s end.
		wait := 2 * time.Second
		if u == "nats://"+token+"@"+addr {
			wait = hangTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		nc, err := connectNATS(ctx, &options{natsURLs: u, natsName: "redact-test"}, log)
		cancel()
		if err == nil {
			nc.Close()
		}
		s := logs.String()
		if strings.Contains(s, token) {
			t.Errorf("the NATS token is in the logs:\n%s", s)
		}
		if u == "nats://"+token+"@"+addr && !strings.Contains(s, "NATS connected") {
			t.Errorf("no connection logged:\n%s", s)
		}
	}
}
