package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	chartDir    = "helm/vastwatch"
	chartHA     = chartDir + "/values-ha.yaml"
	releaseName = "vastwatch" // with the kustomize namespace, every object keeps the base's name
)

var helmTool struct {
	once sync.Once
	path string
	err  error
}

// helmBinary is the helm of go.mod's tool directive (helm.sh/helm/v4), never a downloaded one.
// `go tool -n helm` builds it the first time (the go command caches the binary after that)
// and prints its path, so each test runs it without going through the go command again.
func helmBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds helm from go.mod's tool directive; skipped with -short")
	}
	helmTool.once.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			helmTool.err = err
			return
		}
		cmd := exec.Command(goCmd, "tool", "-n", "helm")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			helmTool.err = err
			if stderr.Len() > 0 {
				helmTool.err = &toolError{err: err, stderr: stderr.String()}
			}
			return
		}
		helmTool.path = strings.TrimSpace(string(out))
	})
	if helmTool.err != nil {
		t.Fatalf("go tool -n helm: %v", helmTool.err)
	}
	return helmTool.path
}

type toolError struct {
	err    error
	stderr string
}

func (e *toolError) Error() string { return e.err.Error() + ": " + e.stderr }

// helm runs the chart's helm and returns its standard output, and its standard error apart
// (helm logs there that the chart's dashboards and rules are symbolic links).
func helm(args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.Command(helmTool.path, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(scratchDir, "helm-cache"),
		"HELM_CONFIG_HOME="+filepath.Join(scratchDir, "helm-config"), "HELM_DATA_HOME="+filepath.Join(scratchDir, "helm-data"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// rendered keeps each rendering of one test run by its arguments: several tests read the
// default values' objects.
var rendered = struct {
	sync.Mutex
	out map[string][]byte
}{out: map[string][]byte{}}

// chart is every object `helm template` rendered, decoded strictly into its type.
type chart struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	config         *corev1.ConfigMap
	state          *corev1.ConfigMap // with leader election: the leaders' state, shipped empty
	dashboards     []*corev1.ConfigMap
	serviceAccount *corev1.ServiceAccount
	role           *rbacv1.Role
	roleBinding    *rbacv1.RoleBinding
	pdb            *policyv1.PodDisruptionBudget
	pvc            *corev1.PersistentVolumeClaim
	networkPolicy  *networkingv1.NetworkPolicy
	serviceMonitor *serviceMonitorCR
	prometheusRule *prometheusRuleCR
	kinds          []string
}

// renderChart runs `helm template` of the chart in the kustomize namespace with extra
// arguments (-f FILE, --set K=V) and decodes every document like loadManifests does: an unknown
// field, an unknown kind or a second object of a kind fails the test.
func renderChart(t *testing.T, args ...string) chart {
	t.Helper()
	helmBinary(t)
	key := strings.Join(args, "\x00")
	rendered.Lock()
	out, ok := rendered.out[key]
	rendered.Unlock()
	if !ok {
		var stderr []byte
		var err error
		out, stderr, err = helm(append([]string{"template", releaseName, chartDir, "--namespace", "vastwatch"}, args...)...)
		if err != nil {
			t.Fatalf("helm template %q: %v\n%s", args, err, stderr)
		}
		rendered.Lock()
		rendered.out[key] = out
		rendered.Unlock()
	}
	var c chart
	for _, doc := range splitDocuments(out) {
		var tm metav1.TypeMeta
		if err := decodeStrictBytesLoose(doc, &tm); err != nil {
			t.Fatalf("helm template: %v\n%s", err, doc)
		}
		c.kinds = append(c.kinds, tm.Kind)
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			target = setOnce(t, "Deployment", &c.deployment)
		case "v1 Service":
			target = setOnce(t, "Service", &c.service)
		case "v1 ConfigMap":
			var cm corev1.ConfigMap
			if err := decodeStrictBytes(doc, &cm); err != nil {
				t.Fatalf("ConfigMap: %v", err)
			}
			if strings.Contains(cm.Name, "-dashboard-") {
				c.dashboards = append(c.dashboards, &cm)
				continue
			}
			if cm.Labels["app.kubernetes.io/component"] == "state" {
				if c.state != nil {
					t.Fatal("ConfigMap: a second state ConfigMap")
				}
				c.state = &cm
				continue
			}
			target = setOnce(t, "ConfigMap", &c.config)
		case "v1 ServiceAccount":
			target = setOnce(t, "ServiceAccount", &c.serviceAccount)
		case "rbac.authorization.k8s.io/v1 Role":
			target = setOnce(t, "Role", &c.role)
		case "rbac.authorization.k8s.io/v1 RoleBinding":
			target = setOnce(t, "RoleBinding", &c.roleBinding)
		case "policy/v1 PodDisruptionBudget":
			target = setOnce(t, "PodDisruptionBudget", &c.pdb)
		case "v1 PersistentVolumeClaim":
			target = setOnce(t, "PersistentVolumeClaim", &c.pvc)
		case "networking.k8s.io/v1 NetworkPolicy":
			target = setOnce(t, "NetworkPolicy", &c.networkPolicy)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			target = setOnce(t, "ServiceMonitor", &c.serviceMonitor)
		case "monitoring.coreos.com/v1 PrometheusRule":
			target = setOnce(t, "PrometheusRule", &c.prometheusRule)
		default:
			t.Fatalf("helm template rendered an unexpected %q %q", tm.APIVersion, tm.Kind)
		}
		if err := decodeStrictBytes(doc, target); err != nil {
			t.Fatalf("%s: %v", tm.Kind, err)
		}
	}
	slices.Sort(c.kinds)
	if c.deployment == nil {
		t.Fatal("helm template rendered no Deployment")
	}
	for _, obj := range c.objects() {
		if obj.Namespace != "vastwatch" {
			t.Errorf("%s is in namespace %q, want the release's", obj.Name, obj.Namespace)
		}
	}
	return c
}

// splitDocuments splits a YAML stream at its "---" lines, leaving out documents with nothing
// but comments (helm writes "# Source: …" before each).
func splitDocuments(stream []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	content := false
	flush := func() {
		if content {
			docs = append(docs, cur)
		}
		cur, content = nil, false
	}
	for line := range bytes.Lines(stream) {
		if string(bytes.TrimRight(line, "\n")) == "---" {
			flush()
			continue
		}
		cur = append(cur, line...)
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			content = true
		}
	}
	flush()
	return docs
}

func (c chart) objects() []metav1.ObjectMeta {
	var out []metav1.ObjectMeta
	add := func(present bool, m func() metav1.ObjectMeta) {
		if present {
			out = append(out, m())
		}
	}
	add(c.deployment != nil, func() metav1.ObjectMeta { return c.deployment.ObjectMeta })
	add(c.service != nil, func() metav1.ObjectMeta { return c.service.ObjectMeta })
	add(c.config != nil, func() metav1.ObjectMeta { return c.config.ObjectMeta })
	add(c.serviceAccount != nil, func() metav1.ObjectMeta { return c.serviceAccount.ObjectMeta })
	add(c.role != nil, func() metav1.ObjectMeta { return c.role.ObjectMeta })
	add(c.roleBinding != nil, func() metav1.ObjectMeta { return c.roleBinding.ObjectMeta })
	add(c.pdb != nil, func() metav1.ObjectMeta { return c.pdb.ObjectMeta })
	add(c.pvc != nil, func() metav1.ObjectMeta { return c.pvc.ObjectMeta })
	add(c.networkPolicy != nil, func() metav1.ObjectMeta { return c.networkPolicy.ObjectMeta })
	add(c.serviceMonitor != nil, func() metav1.ObjectMeta { return c.serviceMonitor.Metadata })
	add(c.prometheusRule != nil, func() metav1.ObjectMeta { return c.prometheusRule.Metadata })
	for _, d := range c.dashboards {
		out = append(out, d.ObjectMeta)
	}
	return out
}

// podLabels checks the chart's selector selects its pods and the labels the kustomize
// manifests select by, and returns the pod labels.
func (c chart) podLabels(t *testing.T, base manifests) labels.Set {
	t.Helper()
	pod := labels.Set(c.deployment.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(c.deployment.Spec.Selector)
	if err != nil || !sel.Matches(pod) {
		t.Errorf("selector %v does not match the pod labels %v (%v)", c.deployment.Spec.Selector, pod, err)
	}
	for k, v := range base.deployment.Spec.Template.Labels {
		if pod[k] != v {
			t.Errorf("pod label %s=%q, the kustomize base has %q", k, pod[k], v)
		}
	}
	return pod
}

func TestHelmLint(t *testing.T) {
	helmBinary(t)
	for name, args := range map[string][]string{
		"default values": nil,
		"HA values":      {"-f", chartHA},
	} {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := helm(append([]string{"lint", "--strict", chartDir}, args...)...)
			if err != nil || !bytes.Contains(out, []byte("0 chart(s) failed")) {
				t.Fatalf("helm lint --strict: %v\n%s%s", err, out, stderr)
			}
			for line := range bytes.Lines(out) {
				if bytes.Contains(line, []byte("[WARNING]")) || bytes.Contains(line, []byte("[ERROR]")) {
					t.Errorf("helm lint: %s", line)
				}
			}
		})
	}
}

// TestHelmChartMatchesKustomizeBase renders the default values and holds them to
// deploy/kubernetes: the same pod (containers, arguments, probes, resources, security
// contexts, volumes), config, Service, claim, ServiceMonitor and rules.
func TestHelmChartMatchesKustomizeBase(t *testing.T) {
	base := loadManifests(t)
	c := renderChart(t)
	want := []string{"ConfigMap", "Deployment", "NetworkPolicy", "PersistentVolumeClaim", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}
	if got := slices.Compact(slices.Clone(c.kinds)); !slices.Equal(got, want) {
		t.Errorf("rendered kinds %q, want %q (and no Secret: the key stays out of the chart)", got, want)
	}

	t.Run("the pod is the base's", func(t *testing.T) {
		d, b := c.deployment, base.deployment
		if *d.Spec.Replicas != *b.Spec.Replicas || !reflect.DeepEqual(d.Spec.Strategy, b.Spec.Strategy) {
			t.Errorf("replicas %d strategy %+v, base %d %+v", *d.Spec.Replicas, d.Spec.Strategy, *b.Spec.Replicas, b.Spec.Strategy)
		}
		c.podLabels(t, base)
		got := d.Spec.Template.Spec.DeepCopy()
		// The chart's own ServiceAccount; its token is not mounted, as in the base.
		if got.ServiceAccountName != c.serviceAccount.Name || *c.serviceAccount.AutomountServiceAccountToken {
			t.Errorf("serviceAccountName %q (ServiceAccount %q, automount %v)", got.ServiceAccountName, c.serviceAccount.Name, *c.serviceAccount.AutomountServiceAccountToken)
		}
		got.ServiceAccountName = ""
		if !reflect.DeepEqual(got, &b.Spec.Template.Spec) {
			t.Errorf("pod spec differs from deploy/kubernetes/deployment.yaml:\n chart %+v\n  base %+v", got, b.Spec.Template.Spec)
		}
		parseArgs(t, got.Containers[0].Args)
	})

	t.Run("config, Service, claim", func(t *testing.T) {
		if c.config.Name != base.configMap.Name || !reflect.DeepEqual(c.config.Data, base.configMap.Data) {
			t.Errorf("ConfigMap %s %q, base %s %q", c.config.Name, c.config.Data, base.configMap.Name, base.configMap.Data)
		}
		if c.service.Name != base.service.Name || !reflect.DeepEqual(c.service.Spec.Ports, base.service.Spec.Ports) || c.service.Spec.Type != base.service.Spec.Type {
			t.Errorf("Service %s %+v, base %s %+v", c.service.Name, c.service.Spec, base.service.Name, base.service.Spec)
		}
		if !labels.SelectorFromSet(c.service.Spec.Selector).Matches(labels.Set(c.deployment.Spec.Template.Labels)) {
			t.Errorf("Service selector %v does not select the pods", c.service.Spec.Selector)
		}
		if c.pvc.Name != base.pvc.Name || !reflect.DeepEqual(c.pvc.Spec, base.pvc.Spec) {
			t.Errorf("claim %s %+v, base %s %+v", c.pvc.Name, c.pvc.Spec, base.pvc.Name, base.pvc.Spec)
		}
		if c.pvc.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Error("the state claim goes with the release: the journal of unknown creates would be lost on a reinstall")
		}
	})

	t.Run("ServiceMonitor and rules", func(t *testing.T) {
		sm, bsm := c.serviceMonitor, base.serviceMonitor
		if !reflect.DeepEqual(sm.Spec.Endpoints, bsm.Spec.Endpoints) {
			t.Errorf("endpoints %+v, base %+v", sm.Spec.Endpoints, bsm.Spec.Endpoints)
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(c.service.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector, c.service.Labels)
		}
		// The job is named after the Service's jobLabel label: "vastwatch" for any release
		// name, the job VastwatchDown matches.
		if job := c.service.Labels[sm.Spec.JobLabel]; sm.Spec.JobLabel == "" || !strings.Contains(ruleExpr(t, "VastwatchDown"), `job="`+job+`"`) {
			t.Errorf("jobLabel %q names the job %q, which VastwatchDown does not match", sm.Spec.JobLabel, job)
		}
		if !reflect.DeepEqual(c.prometheusRule.Spec.Groups, loadRules(t).Groups) {
			t.Errorf("the PrometheusRule's groups differ from %s", ruleFile)
		}
	})
}
