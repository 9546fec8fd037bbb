package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

// Credentials put in Host or Addr by mistake, URL style, are refused
// without being quoted: the configuration error does not print them.
func TestHostAddrWithCredentialsNotQuoted(t *testing.T) {
	const pw = "S3cret-in-addr"
	for _, cfg := range []stream.Config{
		{Addr: "alice:" + pw + "@rm.example.com:3201"},
		{Host: "alice:" + pw + "@rm.example.com"},
	} {
		cfg.Username, cfg.Password, cfg.MonitorID = "alice", secret.New(pw), 1
		cfg.NewBackOff = func() backoff.BackOff { return stopAfterOne{} }
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		sub, err := stream.Subscribe(ctx, cfg)
		if err == nil {
			<-sub.Done()
			err = sub.Err()
		}
		cancel()
		if !errors.Is(err, stream.ErrInvalidConfig) {
			t.Errorf("Host %q Addr %q: err %v, want ErrInvalidConfig", cfg.Host, cfg.Addr, err)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("the error prints the password: %v", err)
		}
	}
}
