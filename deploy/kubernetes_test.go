package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const k8sDir = "kubernetes"

// The Prometheus Operator's CRDs have no Go types among our dependencies; these are the fields
// the manifests use, decoded strictly like the built-in kinds.
type serviceMonitorCR struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type prometheusRuleCR struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string   `json:"namespace,omitempty"`
	Resources       []string `json:"resources"`
	Images          []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// manifests holds every object of deploy/kubernetes, decoded strictly into its type.
type manifests struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	secret         *corev1.Secret
	configMap      *corev1.ConfigMap
	pvc            *corev1.PersistentVolumeClaim
	namespace      *corev1.Namespace
	serviceMonitor *serviceMonitorCR
	prometheusRule *prometheusRuleCR
	kustomization  *kustomization
}

// loadManifests decodes every YAML file of deploy/kubernetes into the Go type of its kind;
// an unknown field, an unknown kind or two objects of one kind fail the test.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", k8sDir, err)
	}
	var m manifests
	for _, f := range files {
		var tm metav1.TypeMeta
		if err := decodeLoose(f, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			target = setOnce(t, f, &m.deployment)
		case "v1 Service":
			target = setOnce(t, f, &m.service)
		case "v1 Secret":
			target = setOnce(t, f, &m.secret)
		case "v1 ConfigMap":
			target = setOnce(t, f, &m.configMap)
		case "v1 PersistentVolumeClaim":
			target = setOnce(t, f, &m.pvc)
		case "v1 Namespace":
			target = setOnce(t, f, &m.namespace)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			target = setOnce(t, f, &m.serviceMonitor)
		case "monitoring.coreos.com/v1 PrometheusRule":
			target = setOnce(t, f, &m.prometheusRule)
		case "kustomize.config.k8s.io/v1beta1 Kustomization":
			target = setOnce(t, f, &m.kustomization)
		default:
			t.Fatalf("%s: unexpected apiVersion/kind %q %q", f, tm.APIVersion, tm.Kind)
		}
		if err := decodeStrict(f, target); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return m
}

func setOnce[T any](t *testing.T, file string, p **T) *T {
	t.Helper()
	if *p != nil {
		t.Fatalf("%s: a second object of this kind", file)
	}
	*p = new(T)
	return *p
}

// decodeLoose reads only the fields of v (for apiVersion and kind before the strict decode).
func decodeLoose(path string, v any) error {
	var raw map[string]any
	if err := decodeStrict(path, &raw); err != nil {
		return err
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	for name, present := range map[string]bool{
		"Deployment": m.deployment != nil, "Service": m.service != nil, "Secret": m.secret != nil,
		"ConfigMap": m.configMap != nil, "PersistentVolumeClaim": m.pvc != nil,
		"ServiceMonitor": m.serviceMonitor != nil, "PrometheusRule": m.prometheusRule != nil,
		"Kustomization": m.kustomization != nil,
	} {
		if !present {
			t.Errorf("no %s manifest", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("an unknown field fails the decode", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(k8sDir, "deployment.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Replace(b, []byte("  strategy:\n"), []byte("  stratgy:\n"), 1)
		if bytes.Equal(bad, b) {
			t.Fatal("deployment.yaml has no strategy to misspell")
		}
		var d appsv1.Deployment
		if err := decodeStrictBytes(bad, &d); err == nil || !strings.Contains(err.Error(), "stratgy") {
			t.Fatalf("misspelled field decoded without error (err %v)", err)
		}
	})

	t.Run("the kustomization lists every manifest", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
		var want []string
		for _, f := range files {
			if b := filepath.Base(f); b != "kustomization.yaml" {
				want = append(want, b)
			}
		}
		got := slices.Sorted(slices.Values(m.kustomization.Resources))
		if !slices.Equal(got, want) {
			t.Errorf("resources %q, files %q", got, want)
		}
		if m.namespace != nil && m.kustomization.Namespace != m.namespace.Name {
			t.Errorf("kustomization namespace %q, Namespace object %q", m.kustomization.Namespace, m.namespace.Name)
		}
	})
}

func TestDeploymentIsSafeToRun(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]

	t.Run("one replica replaced with Recreate", func(t *testing.T) {
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("strategy %q, want Recreate: two pods must never scale one account", d.Spec.Strategy.Type)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("replicas %v, want 1", d.Spec.Replicas)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("selector %v does not match the pod labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
		}
	})

	t.Run("non-root, read-only root, no capabilities", func(t *testing.T) {
		psc, sc := spec.SecurityContext, c.SecurityContext
		if psc == nil || sc == nil {
			t.Fatal("pod or container securityContext missing")
		}
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("pod runAsNonRoot %v runAsUser %v", psc.RunAsNonRoot, psc.RunAsUser)
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccompProfile %v, want RuntimeDefault", psc.SeccompProfile)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation not false")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("capabilities %+v, want drop [ALL] and no add", sc.Capabilities)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Error("the service account token is mounted; vastwatch needs no Kubernetes API yet")
		}
	})

	t.Run("probes on /-/healthy and /-/ready at the metrics port", func(t *testing.T) {
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9861 || c.Ports[0].Name != "http" {
			t.Fatalf("ports %+v, want http 9861", c.Ports)
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{{"liveness", c.LivenessProbe, "/-/healthy"}, {"readiness", c.ReadinessProbe, "/-/ready"}} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s probe missing or not HTTP", p.name)
				continue
			}
			if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("http") {
				t.Errorf("%s probe %s on %v, want %s on http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port, p.path)
			}
		}
	})

	t.Run("requests and limits", func(t *testing.T) {
		r := c.Resources
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := r.Requests[name]; !ok || q.IsZero() {
				t.Errorf("no %s request", name)
			}
		}
		mem, ok := r.Limits[corev1.ResourceMemory]
		if !ok {
			t.Fatal("no memory limit")
		}
		// docs/design.md §11: peak RSS ≤ 50 MB; leave room for a full-market search.
		if mem.Value() < 128<<20 || mem.Cmp(r.Requests[corev1.ResourceMemory]) < 0 {
			t.Errorf("memory limit %s below 128Mi or below the request", mem.String())
		}
	})

	t.Run("config, key and state come from the ConfigMap, Secret and claim", func(t *testing.T) {
		mounts := map[string]corev1.VolumeMount{}
		for _, vm := range c.VolumeMounts {
			mounts[vm.Name] = vm
			if vm.SubPath != "" {
				t.Errorf("mount %s uses subPath %q, which never sees ConfigMap or Secret updates", vm.Name, vm.SubPath)
			}
		}
		args := parseArgs(t, c.Args)
		var cfgOK, keyOK, stateOK bool
		for _, v := range spec.Volumes {
			vm, mounted := mounts[v.Name]
			if !mounted {
				t.Errorf("volume %s is not mounted", v.Name)
				continue
			}
			switch {
			case v.ConfigMap != nil:
				if v.ConfigMap.Name != m.configMap.Name {
					t.Errorf("volume %s: ConfigMap %q, manifest has %q", v.Name, v.ConfigMap.Name, m.configMap.Name)
				}
				for key := range m.configMap.Data {
					if args["config.file"] == filepath.Join(vm.MountPath, key) {
						cfgOK = true
					}
				}
			case v.Secret != nil:
				if v.Secret.SecretName != m.secret.Name {
					t.Errorf("volume %s: Secret %q, manifest has %q", v.Name, v.Secret.SecretName, m.secret.Name)
				}
				for key := range m.secret.StringData {
					if env(c, "VAST_API_KEY_FILE") == filepath.Join(vm.MountPath, key) {
						keyOK = true
					}
				}
			case v.PersistentVolumeClaim != nil:
				if v.PersistentVolumeClaim.ClaimName != m.pvc.Name {
					t.Errorf("volume %s: claim %q, manifest has %q", v.Name, v.PersistentVolumeClaim.ClaimName, m.pvc.Name)
				}
				stateOK = args["state.dir"] == vm.MountPath && !vm.ReadOnly
			}
		}
		if !cfgOK {
			t.Errorf("--config.file=%s is no key of the mounted ConfigMap", args["config.file"])
		}
		if !keyOK {
			t.Errorf("VAST_API_KEY_FILE=%s is no key of the mounted Secret", env(c, "VAST_API_KEY_FILE"))
		}
		if !stateOK {
			t.Errorf("--state.dir=%s is not the writable mount of the claim", args["state.dir"])
		}
		if env(c, "VAST_API_KEY") != "" {
			t.Error("VAST_API_KEY set in the environment; use the file")
		}
		if !slices.Contains(m.pvc.Spec.AccessModes, corev1.ReadWriteOnce) {
			t.Errorf("claim access modes %v", m.pvc.Spec.AccessModes)
		}
	})

	t.Run("the Secret ships a placeholder, not a key", func(t *testing.T) {
		if len(m.secret.Data) > 0 || len(m.secret.StringData) != 1 {
			t.Fatalf("secret data %d, stringData %d; want one stringData placeholder", len(m.secret.Data), len(m.secret.StringData))
		}
		for _, v := range m.secret.StringData {
			if !strings.HasPrefix(v, "REPLACE_WITH_") {
				t.Errorf("secret value is not a REPLACE_WITH_ placeholder")
			}
		}
	})
}

func TestServiceAndServiceMonitorReachThePod(t *testing.T) {
	m := loadManifests(t)
	pod := labels.Set(m.deployment.Spec.Template.Labels)
	for k, v := range m.service.Spec.Selector {
		if pod[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels %v", k, v, pod)
		}
	}
	if len(m.service.Spec.Ports) != 1 || m.service.Spec.Ports[0].Name != "http" || m.service.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("Service ports %+v, want one named http targeting http", m.service.Spec.Ports)
	}
	sel, err := metav1.LabelSelectorAsSelector(&m.serviceMonitor.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(m.service.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v (%v)", m.serviceMonitor.Spec.Selector, m.service.Labels, err)
	}
	if len(m.serviceMonitor.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints, want 1", len(m.serviceMonitor.Spec.Endpoints))
	}
	ep := m.serviceMonitor.Spec.Endpoints[0]
	if ep.Port != "http" || ep.Path != "/metrics" {
		t.Errorf("endpoint port %q path %q, want http /metrics", ep.Port, ep.Path)
	}
	// The operator names the job after the Service unless jobLabel says otherwise; the
	// VastwatchDown alert matches that name.
	if m.serviceMonitor.Spec.JobLabel != "" {
		t.Errorf("jobLabel %q renames the job VastwatchDown matches", m.serviceMonitor.Spec.JobLabel)
	}
	if !strings.Contains(ruleExpr(t, "VastwatchDown"), `job="`+m.service.Name+`"`) {
		t.Errorf("VastwatchDown does not match job=%q", m.service.Name)
	}
}

// TestKustomizeBuilds runs kubectl's built-in kustomize when kubectl is installed: the
// kustomization must build, with every object in the namespace.
func TestKustomizeBuilds(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed; the strict decode above still checks every manifest")
	}
	out := run(t, ".", nil, kubectl, "kustomize", k8sDir)
	var kinds []string
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var obj struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := decodeStrictBytesLoose(doc, &obj); err != nil {
			t.Fatalf("kustomize output: %v", err)
		}
		kinds = append(kinds, obj.Kind)
		if obj.Kind != "Namespace" && obj.Metadata.Namespace != "vastwatch" {
			t.Errorf("%s %s in namespace %q", obj.Kind, obj.Metadata.Name, obj.Metadata.Namespace)
		}
	}
	slices.Sort(kinds)
	want := []string{"ConfigMap", "Deployment", "Namespace", "PersistentVolumeClaim", "PrometheusRule", "Secret", "Service", "ServiceMonitor"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kustomize built %q, want %q", kinds, want)
	}
}

func decodeStrictBytesLoose(b []byte, v any) error {
	var raw map[string]any
	if err := decodeStrictBytes(b, &raw); err != nil {
		return err
	}
	j, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, v)
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func ruleExpr(t *testing.T, alert string) string {
	t.Helper()
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Expr
			}
		}
	}
	t.Fatalf("no alert %s", alert)
	return ""
}
