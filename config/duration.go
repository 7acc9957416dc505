package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/drawbridge-mcp/drawbridge/internal/duration"
)

// Duration is a time.Duration written as "30s", "5m", "1h30m" or "30d".
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings and whole days ("30d").
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := duration.Parse(n.Value)
	if err != nil {
		// A TypeError lets the decoder go on and report every bad value.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
