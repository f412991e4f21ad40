package archtest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// forbiddenInBinary are packages the daemon's binary must not link, with why. Test binaries may
// (leasetest builds on client-go's fake clientset): they do not ship.
var forbiddenInBinary = map[string]string{
	// The typed clientset and kubernetes/scheme, which every typed client imports, register
	// every Kubernetes API group's types at start-up: with client-go's election about 15 MB of
	// the daemon's peak resident memory (README, "Memory"), against a 45 MB target. The Lease
	// and ConfigMap clients are client-go's REST client over a scheme of their own types.
	"k8s.io/client-go/kubernetes": "typed clients and kubernetes/scheme register every API group's types at start-up",
	// client-go's election imports resourcelock, which imports the typed clients above.
	"k8s.io/client-go/tools/leaderelection": "imports resourcelock and with it every typed client",
}

func TestBinaryLinksNoForbiddenPackage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "./cmd/vastwatch")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/vastwatch: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !contains(deps, "k8s.io/client-go/rest") {
		t.Fatalf("go list listed %d packages without k8s.io/client-go/rest; the check is not looking at the binary", len(deps))
	}
	for _, dep := range deps {
		for prefix, why := range forbiddenInBinary {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("./cmd/vastwatch links %s: %s", dep, why)
			}
		}
	}
}
