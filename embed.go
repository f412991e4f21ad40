// Package vastwatch holds files embedded from the repository root, so the binary carries them.
package vastwatch

import _ "embed"

// ExampleConfig is config.example.yaml: `--simulate` without --config.file runs on it.
//
//go:embed config.example.yaml
var ExampleConfig []byte
