// Package duration reads the durations people write in Drawbridge's config
// and on its command line: Go durations ("30s", "1h30m") and whole days
// ("30d").
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse reads a Go duration or a whole number of days ("30d").
func Parse(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 30s, 5m, 1h, 30d)", s)
	}
	return v, nil
}
