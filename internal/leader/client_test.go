package leader

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

func TestNewClient(t *testing.T) {
	t.Run("outside a pod the in-cluster config is refused", func(t *testing.T) {
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		t.Setenv("KUBERNETES_SERVICE_PORT", "")
		if _, err := NewClient("", "ops"); !errors.Is(err, rest.ErrNotInCluster) {
			t.Fatalf("got %v, want ErrNotInCluster", err)
		}
	})

	t.Run("a kubeconfig's current context reaches its server with its token file", func(t *testing.T) {
		var gotAuth, gotPath, gotAgent string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotAuth, gotPath, gotAgent = r.Header.Get("Authorization"), r.URL.Path, r.UserAgent()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"vastwatch","namespace":"ops","resourceVersion":"7"},"spec":{"holderIdentity":"pod-1"}}`)
		}))
		defer srv.Close()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		kubeconfig := filepath.Join(dir, "kubeconfig")
		writeKubeconfig(t, kubeconfig, srv.URL, "right")

		cs, err := NewClient(kubeconfig, "ops")
		if err != nil {
			t.Fatal(err)
		}
		l, err := cs.Get(t.Context(), "vastwatch", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "pod-1" || l.ResourceVersion != "7" {
			t.Errorf("lease %+v", l)
		}
		if gotPath != "/apis/coordination.k8s.io/v1/namespaces/ops/leases/vastwatch" {
			t.Errorf("path %s", gotPath)
		}
		if gotAuth != "Bearer s3cret-token" {
			t.Errorf("token from the file relative to the kubeconfig not sent (Authorization %q)", gotAuth)
		}
		if !strings.Contains(gotAgent, userAgent) {
			t.Errorf("user agent %q", gotAgent)
		}
	})

	t.Run("a kubeconfig whose current context does not exist is refused", func(t *testing.T) {
		kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
		writeKubeconfig(t, kubeconfig, "https://127.0.0.1:6443", "missing")
		if _, err := NewClient(kubeconfig, "ops"); err == nil || !strings.Contains(err.Error(), `current context "missing" not found`) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("a missing kubeconfig names the file", func(t *testing.T) {
		_, err := NewClient("/nonexistent/kubeconfig", "ops")
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/nonexistent/kubeconfig") {
			t.Fatalf("got %v", err)
		}
	})
}

func writeKubeconfig(t *testing.T, path, server, current string) {
	t.Helper()
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: %s
contexts:
  - name: wrong
    context: {cluster: other, user: other}
  - name: right
    context: {cluster: test, user: vastwatch}
clusters:
  - name: test
    cluster: {server: %q}
  - name: other
    cluster: {server: "https://192.0.2.1"}
users:
  - name: vastwatch
    user: {tokenFile: token}
  - name: other
    user: {token: other-token}
`, current, server)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
