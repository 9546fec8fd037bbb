package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// A ConnectResponse of status 200 in a protocol version other than 1 (the
// only one that exists) ends the subscription after one dial with a
// *VersionError: permanent, like a refused login, since the same server
// answers the same way. No block the server sends after it is read or
// delivered.
func TestConnectResponseOtherVersionIsPermanent(t *testing.T) {
	for _, version := range []uint16{0, 2, 0xFFFF} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					f := newFakeConn(t, c)
					if _, err := f.r.ReadFrame(); err != nil {
						return
					}
					resp := protocol.AppendConnectResponse(nil, protocol.StatusOK)
					binary.BigEndian.PutUint16(resp[len(resp)-2:], version)
					if _, err := c.Write(resp); err != nil {
						return
					}
					_, _ = f.block(`{"Document":{"Msg":{"topic":"1/DataPoint/x","operation":"INSERTION","timestamp":"2024-01-01T00:00:00Z","DataPoint":{"id":"a"}}}}`, 1, protocol.FormatJSON, false)
				}}
				// An hour of the bubble's fake clock: a client that retried
				// would dial again and again within it, then stop.
				ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
				defer cancel()
				sub, err := Subscribe(ctx, testConfig(d))
				if err != nil {
					t.Fatal(err)
				}
				for range sub.Events() {
					t.Errorf("version %d: event delivered from a session in another protocol version", version)
				}
				err = sub.Err()
				var ve *VersionError
				if !errors.Is(err, ErrProtocolVersion) || !errors.As(err, &ve) || ve.Version != version || !IsPermanent(err) {
					t.Errorf("version %d: Err = %v, want a permanent *VersionError naming version %d", version, err, version)
				}
				if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrBadRequest) {
					t.Errorf("version %d: Err = %v also matches a refused login", version, err)
				}
				if err != nil && !strings.Contains(err.Error(), "version") {
					t.Errorf("Err text %q does not say what is wrong", err)
				}
				if n := d.dials.Load(); n != 1 {
					t.Errorf("version %d: %d dials, want exactly 1", version, n)
				}
				d.wg.Wait()
			})
		})
	}
}

// Version 1 is accepted as before.
func TestConnectResponseVersionOneAccepted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			f, ok := loggedIn(t, c)
			if !ok {
				return
			}
			_, _ = f.block(`{"Document":{"Msg":{"topic":"1/DataPoint/x","operation":"INSERTION","timestamp":"2024-01-01T00:00:00Z","DataPoint":{"id":"a"}}}}`, 1, protocol.FormatJSON, false)
			<-f.done
		}}
		sub, err := Subscribe(t.Context(), testConfig(d))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := <-sub.Events(); !ok {
			t.Fatalf("no event; Err = %v", sub.Err())
		}
		sub.Close()
		if err := sub.Err(); err != nil {
			t.Errorf("Err = %v", err)
		}
		d.wg.Wait()
	})
}
