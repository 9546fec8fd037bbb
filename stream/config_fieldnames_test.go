package stream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// A negative timeout or size is refused with an error matching
// ErrInvalidConfig that names the field, as NewPoller's errors do: an
// operator with a file of settings must not have to guess which one.
func TestNegativeLimitErrorsNameTheField(t *testing.T) {
	for name, set := range map[string]func(*Config){
		"HandshakeTimeout": func(c *Config) { c.HandshakeTimeout = -time.Second },
		"FrameTimeout":     func(c *Config) { c.FrameTimeout = -time.Second },
		"WriteTimeout":     func(c *Config) { c.WriteTimeout = -time.Second },
		"MaxDecompressed":  func(c *Config) { c.MaxDecompressed = -1 },
		"ReadBufferSize":   func(c *Config) { c.ReadBufferSize = -1 },
		"MaxBatchBlocks":   func(c *Config) { c.MaxBatchBlocks = -1 },
	} {
		cfg := testConfig(nilConnDialer{})
		set(&cfg)
		sub, err := Subscribe(t.Context(), cfg)
		if sub != nil {
			sub.Close()
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("Config.%s negative: %v, want ErrInvalidConfig naming %s", name, err, name)
		}
	}
	for name, set := range map[string]func(*HTTPConfig){
		"MaxBodySize":     func(c *HTTPConfig) { c.MaxBodySize = -1 },
		"MaxDecompressed": func(c *HTTPConfig) { c.MaxDecompressed = -1 },
		"MaxConcurrent":   func(c *HTTPConfig) { c.MaxConcurrent = -1 },
		"HandoffTimeout":  func(c *HTTPConfig) { c.HandoffTimeout = -time.Second },
	} {
		cfg := HTTPConfig{MonitorID: 1, Token: secret.New("hook:a-long-secret")}
		set(&cfg)
		r, err := NewHTTPReceiver(t.Context(), cfg)
		if r != nil {
			r.Close()
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("HTTPConfig.%s negative: %v, want ErrInvalidConfig naming %s", name, err, name)
		}
	}
}

// TestReadBufferSizeBounded: a ReadBufferSize no allocation can serve is
// refused by Subscribe; it was allocated on the library's goroutine at
// the first connection, where the runtime's panic ended the program.
func TestReadBufferSizeBounded(t *testing.T) {
	for _, size := range []int{maxReadBufferSize + 1, 1 << 62} {
		cfg := testConfig(nilConnDialer{})
		cfg.ReadBufferSize = size
		sub, err := Subscribe(t.Context(), cfg)
		if sub != nil {
			sub.Close()
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "ReadBufferSize") {
			t.Errorf("ReadBufferSize %d: %v, want ErrInvalidConfig naming it", size, err)
		}
	}
	cfg := testConfig(nilConnDialer{})
	cfg.ReadBufferSize = maxReadBufferSize
	sub, err := Subscribe(t.Context(), cfg)
	if err != nil {
		t.Fatalf("ReadBufferSize %d: %v", maxReadBufferSize, err)
	}
	sub.Close()
}
