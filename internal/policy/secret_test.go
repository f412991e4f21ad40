package policy

import (
	"slices"
	"testing"
)

// SecretValues are every value the config holds that must never be printed: image logins and
// their passwords, secret env values, webhook URLs with their tokens; never a plain env value.
func TestSecretValues(t *testing.T) {
	cfg := &Config{Fleets: []*Fleet{
		{Name: "a", Instance: InstanceTemplate{ImageLogin: PlainValue("-u me -p inline-pass docker.io"),
			Env: []EnvVar{{Name: "T", Value: SecretValue("tok-123456")}, {Name: "P", Value: PlainValue("plain-value")}}},
			Drain: &Drain{Webhook: SecretValue("https://lb.example/drain/path-token?key=q-secret")}},
		{Name: "b", Instance: InstanceTemplate{ImageLogin: SecretValue("--username me --password=eq-pass")},
			Drain: &Drain{Webhook: PlainValue("https://lb.example/hook")}},
		{Name: "c"},
	}}
	want := []string{"-u me -p inline-pass docker.io", "inline-pass", "tok-123456",
		"https://lb.example/drain/path-token?key=q-secret", "key=q-secret", "/drain/path-token",
		"--username me --password=eq-pass", "eq-pass", "https://lb.example/hook", "/hook"}
	if got := cfg.SecretValues(); !slices.Equal(got, want) {
		t.Fatalf("SecretValues\n got %q\nwant %q", got, want)
	}
}
