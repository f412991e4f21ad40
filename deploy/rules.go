package deploy

import (
	_ "embed"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// RuleFile is deploy/prometheus/vastwatch.rules.yml, the alert rules Prometheus loads.
//
//go:embed prometheus/vastwatch.rules.yml
var RuleFile []byte

// RuleFileWithFor returns the alert rules with every rule's `for:` replaced by d (0 removes
// it), everything else unchanged. The end-to-end suite loads it so that an alert it provokes
// fires within seconds instead of after the production hold time.
func RuleFileWithFor(d time.Duration) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(RuleFile, &doc); err != nil {
		return nil, fmt.Errorf("parse rule file: %w", err)
	}
	groups := mapValue(doc.Content[0], "groups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("rule file: no groups list")
	}
	changed := 0
	for _, g := range groups.Content {
		rules := mapValue(g, "rules")
		if rules == nil {
			return nil, fmt.Errorf("rule file: group without rules")
		}
		for _, r := range rules.Content {
			for i := 0; i+1 < len(r.Content); i += 2 {
				if r.Content[i].Value != "for" {
					continue
				}
				if d == 0 {
					r.Content = append(r.Content[:i], r.Content[i+2:]...)
				} else {
					r.Content[i+1].Value = promDuration(d)
				}
				changed++
				break
			}
		}
	}
	if changed == 0 {
		return nil, fmt.Errorf("rule file: no rule has a for clause")
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("write rule file: %w", err)
	}
	return out, nil
}

// promDuration writes d as a Prometheus duration (whole milliseconds and up).
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	default:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
