package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// duration is a time.Duration written as "90s", "15m", "2h" or "1d12h".
type duration time.Duration

func (v *duration) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.problem(path, n.Line, "want a duration; allowed: a number with a unit, such as 90s, 15m, 2h or 1d")
		return
	}
	x, err := parseDuration(n.Value)
	if err != nil {
		d.problem(path, n.Line, fmt.Sprintf("%s is not a duration; allowed: a number with a unit, such as 90s, 15m, 2h or 1d", strconv.Quote(n.Value)))
		return
	}
	*v = duration(x)
}

// parseDuration is time.ParseDuration plus a leading whole number of days ("1d", "7d12h").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("bad days in %q", s)
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil || rest < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" || s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
		return 0, fmt.Errorf("duration %q has no unit", s)
	}
	return time.ParseDuration(s)
}

func (v duration) String() string { return time.Duration(v).String() }
