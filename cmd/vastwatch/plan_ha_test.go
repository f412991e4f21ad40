package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vastwatch/vastwatch"
	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// haPlan is `vastwatch plan --simulate` beside a fake API server (enforcing resourceVersions,
// over HTTP on loopback) whose namespace vw may hold the state ConfigMap of run --leader-elect.
type haPlan struct {
	store    *leasetest.Store
	requests atomic.Int64
	args     []string
}

func newHAPlan(t *testing.T) *haPlan {
	t.Helper()
	p := &haPlan{store: leasetest.NewStore()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		p.store.Handler(nil).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	kubeconfig, cfg := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
current-context: test
contexts: [{name: test, context: {cluster: test, user: test}}]
clusters: [{name: test, cluster: {server: %q}}]
users: [{name: test, user: {token: plan-test-token}}]
`, srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, vastwatch.ExampleConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	p.args = []string{"plan", "--config.file", cfg, "--simulate", "--leader-elect.kubeconfig", kubeconfig, "--leader-elect.namespace", "vw"}
	return p
}

// state stores the ConfigMap run --leader-elect keeps for the Lease "vastwatch", marked for api.
func (p *haPlan) state(t *testing.T, api string, data map[string]string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vastwatch-state", Namespace: "vw",
		Annotations: map[string]string{kubestate.APIAnnotation: api}}, Data: data}
	if _, err := p.store.ConfigMaps(nil).ConfigMaps("vw").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (p *haPlan) run(extra ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	pio := IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code = Main(context.Background(), pio, append(append([]string{}, p.args...), extra...))
	return code, out.String(), errb.String()
}

func TestPlanWithLeaderElectReadsTheStateBesideTheLease(t *testing.T) {
	p := newHAPlan(t)
	p.state(t, "simulated seed=1", map[string]string{scaler.JournalFile: "{not json"})
	before := p.store.ConfigMap("vw", "vastwatch-state").ResourceVersion
	code, out, errb := p.run("--leader-elect")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(errb, "configmap vw/vastwatch-state") || !strings.Contains(errb, "corrupt") {
		t.Errorf("stderr does not say the configmap's journal is corrupt: %q", errb)
	}
	if !strings.Contains(out, "blocked: journal_error") {
		t.Errorf("the plan does not block creates on the leader's corrupt journal:\n%s", out)
	}
	if after := p.store.ConfigMap("vw", "vastwatch-state").ResourceVersion; after != before {
		t.Errorf("plan changed the state: resourceVersion %s, was %s", after, before)
	}
}

func TestPlanWithLeaderElectRefusesTheStateOfAnotherAPI(t *testing.T) {
	p := newHAPlan(t)
	p.state(t, "https://console.vast.ai", map[string]string{scaler.JournalFile: `{"v":1}`})
	code, _, errb := p.run("--leader-elect")
	if code != 1 || !strings.Contains(errb, "holds the state of https://console.vast.ai, not of simulated seed=1") {
		t.Fatalf("exit %d, stderr %q", code, errb)
	}
}

func TestPlanWithoutLeaderElectAsksNoKubernetesAPI(t *testing.T) {
	p := newHAPlan(t)
	p.state(t, "simulated seed=1", map[string]string{scaler.JournalFile: "{not json"})
	code, out, errb := p.run()
	if code != 0 || strings.Contains(out, "journal_error") {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errb, out)
	}
	if n := p.requests.Load(); n != 0 {
		t.Errorf("%d requests to the Kubernetes API without --leader-elect", n)
	}
}
