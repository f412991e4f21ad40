package policy

import (
	"strings"

	"github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"
)

// httpClientYAML is Prometheus' own HTTP client config (prometheus/common/config), as a
// demand source's http_config: the same keys and the same strictness as in prometheus.yml, so a
// block copied from there works here. Secrets in it (credentials, passwords, bearer tokens)
// redact themselves as they do in Prometheus.
type httpClientYAML struct {
	cfg config.HTTPClientConfig
	set bool
}

// decodeNode hands the block to prometheus/common/config's strict loader; its complaint (an
// unknown key, a bad value, two conflicting auth methods) becomes a problem at the block.
func (h *httpClientYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.problem(path, n.Line, scalarText(n)+" is not a mapping; allowed: Prometheus' http_config keys, e.g. {authorization: {credentials_file: /run/secrets/prom}}")
		return
	}
	text, err := yaml.Marshal(n)
	if err == nil {
		var cfg *config.HTTPClientConfig
		if cfg, err = config.LoadHTTPConfig(string(text)); err == nil {
			if d.baseDir != "" {
				cfg.SetDirectory(d.baseDir)
			}
			h.cfg, h.set = *cfg, true
			return
		}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	d.problem(path, n.Line, msg+"; allowed: Prometheus' http_config keys (authorization, basic_auth, oauth2, tls_config, proxy_url, ...)")
}
