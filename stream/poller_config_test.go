package stream

import (
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestPollerConfigBounds: PollerConfig values outside what the history API
// and the poller can serve are refused by NewPoller with an error matching
// ErrInvalidConfig that names the field — an Interval under a second (1ns
// is a busy loop against the REST API, and the classic `Interval: 30`
// meaning seconds), a PageSize above the API's largest page (1000), a
// positive Overlap under a second (it would silently mean none) or over 30
// days, a MaxSeen over a million — and the values at the bounds are
// accepted. Before, all of them were accepted.
func TestPollerConfigBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := historyClient(&fakeHistory{})
		base := PollerConfig{Client: api, MonitorID: 7}
		for _, c := range []struct {
			field string
			set   func(*PollerConfig)
		}{
			{"Interval", func(c *PollerConfig) { c.Interval = time.Nanosecond }},
			{"Interval", func(c *PollerConfig) { c.Interval = 30 }}, // 30 ns, meant as seconds
			{"Interval", func(c *PollerConfig) { c.Interval = time.Second - 1 }},
			{"Interval", func(c *PollerConfig) { c.Interval = -time.Second }},
			{"PageSize", func(c *PollerConfig) { c.PageSize = 1001 }},
			{"PageSize", func(c *PollerConfig) { c.PageSize = math.MaxInt }},
			{"PageSize", func(c *PollerConfig) { c.PageSize = -1 }},
			{"Overlap", func(c *PollerConfig) { c.Overlap = time.Nanosecond }},
			{"Overlap", func(c *PollerConfig) { c.Overlap = time.Second - 1 }},
			{"Overlap", func(c *PollerConfig) { c.Overlap = 30*24*time.Hour + 1 }},
			{"Overlap", func(c *PollerConfig) { c.Overlap = math.MaxInt64 }},
			{"MaxSeen", func(c *PollerConfig) { c.MaxSeen = 1_000_001 }},
			{"MaxSeen", func(c *PollerConfig) { c.MaxSeen = math.MaxInt }},
			{"MaxSeen", func(c *PollerConfig) { c.MaxSeen = -1 }},
		} {
			cfg := base
			c.set(&cfg)
			p, err := NewPoller(t.Context(), cfg)
			if err == nil {
				p.Close()
				t.Errorf("%s of %+v accepted", c.field, cfg)
				continue
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.field) {
				t.Errorf("%s: %v, want ErrInvalidConfig naming the field", c.field, err)
			}
		}
		for _, set := range []func(*PollerConfig){
			func(*PollerConfig) {}, // the defaults
			func(c *PollerConfig) { c.Interval = time.Second },
			func(c *PollerConfig) { c.PageSize = 1 },
			func(c *PollerConfig) { c.PageSize = 1000 },
			func(c *PollerConfig) { c.Overlap = -1 },
			func(c *PollerConfig) { c.Overlap = time.Second },
			func(c *PollerConfig) { c.Overlap = 30 * 24 * time.Hour },
			func(c *PollerConfig) { c.MaxSeen = 1 },
			func(c *PollerConfig) { c.MaxSeen = 1_000_000 },
		} {
			cfg := base
			set(&cfg)
			p, err := NewPoller(t.Context(), cfg)
			if err != nil {
				t.Errorf("%+v refused: %v", cfg, err)
				continue
			}
			p.Close()
		}
	})
}
