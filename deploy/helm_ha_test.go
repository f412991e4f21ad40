package deploy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vastwatch/vastwatch/deploy"
)

// TestHelmChartHAMatchesKustomizeOverlay renders values-ha.yaml and holds it to
// deploy/kubernetes-ha: the base's pod with the overlay's patches applied (replicas, strategy,
// service account and token, anti-affinity, downward API, emptyDir state, leader election
// arguments), the same Role, binding and PodDisruptionBudget, and no claim.
func TestHelmChartHAMatchesKustomizeOverlay(t *testing.T) {
	base, o := loadManifests(t), loadHA(t)
	c := renderChart(t, "-f", chartHA)
	want := []string{"ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule", "Role", "RoleBinding", "Service", "ServiceAccount", "ServiceMonitor"}
	if got := slices.Compact(slices.Clone(c.kinds)); !slices.Equal(got, want) {
		t.Errorf("rendered kinds %q, want %q (no claim: two pods cannot mount it)", got, want)
	}

	t.Run("the pod is the base's with the overlay's patches", func(t *testing.T) {
		d, p := c.deployment, o.deploymentPatch
		if *d.Spec.Replicas != *p.Spec.Replicas || !reflect.DeepEqual(d.Spec.Strategy, p.Spec.Strategy) {
			t.Errorf("replicas %d strategy %+v, overlay %d %+v", *d.Spec.Replicas, d.Spec.Strategy, *p.Spec.Replicas, p.Spec.Strategy)
		}
		pod := c.podLabels(t, base)
		want := base.deployment.Spec.Template.Spec.DeepCopy()
		ps := p.Spec.Template.Spec
		want.ServiceAccountName, want.AutomountServiceAccountToken = ps.ServiceAccountName, ps.AutomountServiceAccountToken
		want.Affinity = ps.Affinity.DeepCopy()
		want.Containers[0].Env = append(want.Containers[0].Env, ps.Containers[0].Env...)
		for _, op := range o.argOps {
			want.Containers[0].Args = append(want.Containers[0].Args, op.Value)
		}
		for i, v := range want.Volumes {
			if v.Name == "state" {
				want.Volumes[i] = ps.Volumes[0]
			}
		}
		got := d.Spec.Template.Spec.DeepCopy()
		// The chart's anti-affinity selects its own pod labels, which include the overlay's.
		term := &got.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
		if sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector); err != nil || !sel.Matches(pod) {
			t.Errorf("anti-affinity %v does not select the pods %v", term.LabelSelector, pod)
		}
		term.LabelSelector = want.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector
		if !reflect.DeepEqual(got, want) {
			t.Errorf("pod spec differs from the overlay's:\n chart %+v\n  want %+v", got, want)
		}
		leader, rest := leaderArgs(t, got.Containers[0].Args)
		parseArgs(t, rest)
		if len(leader) != len(wantLeaderArgs) {
			t.Errorf("leader flags %v, want %v", leader, wantLeaderArgs)
		}
	})

	t.Run("RBAC: the overlay's Role, bound to the pods' ServiceAccount", func(t *testing.T) {
		if c.serviceAccount.Name != o.serviceAccount.Name || c.deployment.Spec.Template.Spec.ServiceAccountName != c.serviceAccount.Name {
			t.Errorf("ServiceAccount %q used by %q, overlay %q", c.serviceAccount.Name, c.deployment.Spec.Template.Spec.ServiceAccountName, o.serviceAccount.Name)
		}
		if c.role.Name != o.role.Name || !reflect.DeepEqual(c.role.Rules, o.role.Rules) {
			t.Errorf("Role %s %+v, overlay %s %+v", c.role.Name, c.role.Rules, o.role.Name, o.role.Rules)
		}
		if c.roleBinding.Name != o.roleBinding.Name || !reflect.DeepEqual(c.roleBinding.RoleRef, o.roleBinding.RoleRef) ||
			!reflect.DeepEqual(c.roleBinding.Subjects, o.roleBinding.Subjects) {
			t.Errorf("RoleBinding %+v, overlay %+v", c.roleBinding, o.roleBinding)
		}
	})

	t.Run("the leaders' state: the overlay's ConfigMap, shipped empty, named after the Lease", func(t *testing.T) {
		if c.state == nil || c.state.Name != o.stateConfigMap.Name || len(c.state.Data) != 0 || len(c.state.BinaryData) != 0 {
			t.Errorf("state ConfigMap %+v, overlay's %q", c.state, o.stateConfigMap.Name)
		}
	})

	t.Run("PodDisruptionBudget", func(t *testing.T) {
		if !reflect.DeepEqual(c.pdb.Spec.MaxUnavailable, o.pdb.Spec.MaxUnavailable) {
			t.Errorf("maxUnavailable %v, overlay %v", c.pdb.Spec.MaxUnavailable, o.pdb.Spec.MaxUnavailable)
		}
		if sel, err := metav1.LabelSelectorAsSelector(c.pdb.Spec.Selector); err != nil || !sel.Matches(labels.Set(c.deployment.Spec.Template.Labels)) {
			t.Errorf("the PodDisruptionBudget does not select the pods (%v)", err)
		}
	})
}

// TestHelmDashboardsForGrafanasSidecar: one ConfigMap per dashboard of deploy/grafana, labelled
// for the sidecar, holding the file as it is.
func TestHelmDashboardsForGrafanasSidecar(t *testing.T) {
	c := renderChart(t)
	ds, err := deploy.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.dashboards) != len(ds) {
		t.Fatalf("%d dashboard ConfigMaps, %d dashboards", len(c.dashboards), len(ds))
	}
	for _, d := range ds {
		want, err := os.ReadFile(filepath.Join(deploy.DashboardDir, d.File))
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(c.dashboards, func(cm *corev1.ConfigMap) bool { _, ok := cm.Data[d.File]; return ok })
		if i < 0 {
			t.Errorf("no ConfigMap holds %s", d.File)
			continue
		}
		cm := c.dashboards[i]
		if cm.Data[d.File] != string(want) || len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s does not hold %s as it is", cm.Name, d.File)
		}
		if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "vastwatch" {
			t.Errorf("ConfigMap %s: labels %v annotations %v, want grafana_dashboard=1 and a grafana_folder", cm.Name, cm.Labels, cm.Annotations)
		}
	}
	off := renderChart(t, "--set", "dashboards.enabled=false")
	if len(off.dashboards) != 0 {
		t.Errorf("dashboards.enabled=false still renders %d", len(off.dashboards))
	}
}

// TestHelmNetworkPolicy: ingress to the http port only; egress, when asked for, to DNS, HTTPS
// and (with leader election) the API server, plus the extra rules.
func TestHelmNetworkPolicy(t *testing.T) {
	c := renderChart(t)
	np := c.networkPolicy
	if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err != nil || !sel.Matches(labels.Set(c.deployment.Spec.Template.Labels)) {
		t.Errorf("podSelector %v does not select the pods", np.Spec.PodSelector)
	}
	http := intstr.FromString("http")
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || *np.Spec.Ingress[0].Ports[0].Port != http {
		t.Errorf("ingress %+v, want one rule for the http port", np.Spec.Ingress)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Egress) != 0 {
		t.Errorf("policyTypes %v egress %v: egress is restricted only when asked for", np.Spec.PolicyTypes, np.Spec.Egress)
	}

	c = renderChart(t, "-f", chartHA, "--set", "networkPolicy.egress.enabled=true",
		"--set-json", `networkPolicy.egress.extraRules=[{"ports":[{"port":8080}]}]`,
		"--set-json", `networkPolicy.ingressFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]`)
	np = c.networkPolicy
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Fatalf("policyTypes %v, want Egress", np.Spec.PolicyTypes)
	}
	var ports []int
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			ports = append(ports, p.Port.IntValue())
		}
	}
	slices.Sort(ports)
	if want := []int{53, 53, 443, 443, 6443, 8080}; !slices.Equal(ports, want) {
		t.Errorf("egress ports %v, want %v (DNS, the API, the API server, the extra rule)", ports, want)
	}
	if len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].NamespaceSelector == nil {
		t.Errorf("ingress from %+v, want the monitoring namespace", np.Spec.Ingress[0].From)
	}
}

// TestHelmValues: values that could let two replicas rent, or that the chart does not know,
// are refused with a message that says what is wrong; an existing ConfigMap and claim and
// another release name are used as given.
func TestHelmValues(t *testing.T) {
	helmBinary(t)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"two replicas without leader election", []string{"--set", "replicaCount=2"}, "replicaCount 2 needs leaderElection.enabled"},
		{"an unknown key", []string{"--set", "replicas=2"}, "additional properties 'replicas' not allowed"},
		{"a misspelled nested key", []string{"--set", "leaderElection.enable=true"}, "additional properties 'enable' not allowed"},
		{"a log level run refuses", []string{"--set", "log.level=verbose"}, "/log/level"},
		{"no Secret for the key", []string{"--set", "apiKey.existingSecret="}, "/apiKey/existingSecret"},
		{"a duration that is a number", []string{"--set", "leaderElection.leaseDuration=15"}, "/leaderElection/leaseDuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := helm(append([]string{"template", releaseName, chartDir}, tc.args...)...)
			if err == nil || !bytes.Contains(stderr, []byte(tc.wantErr)) {
				t.Fatalf("helm template %q: err %v, want one saying %q\n%s%s", tc.args, err, tc.wantErr, stderr, out)
			}
		})
	}

	t.Run("an existing ConfigMap and claim", func(t *testing.T) {
		c := renderChart(t, "--set", "config.existingConfigMap=mine", "--set", "config.key=vw.yaml", "--set", "persistence.existingClaim=journal")
		if c.config != nil || c.pvc != nil {
			t.Errorf("rendered ConfigMap %v or claim %v although existing ones are named", c.config != nil, c.pvc != nil)
		}
		spec := c.deployment.Spec.Template.Spec
		args := parseArgs(t, spec.Containers[0].Args)
		for _, v := range spec.Volumes {
			switch {
			case v.ConfigMap != nil && v.ConfigMap.Name != "mine":
				t.Errorf("config volume from %q, want mine", v.ConfigMap.Name)
			case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != "journal":
				t.Errorf("state claim %q, want journal", v.PersistentVolumeClaim.ClaimName)
			}
		}
		if args["config.file"] != "/etc/vastwatch/vw.yaml" {
			t.Errorf("--config.file=%s, want the key vw.yaml", args["config.file"])
		}
	})

	t.Run("three replicas in dry-run", func(t *testing.T) {
		c := renderChart(t, "--set", "leaderElection.enabled=true", "--set", "replicaCount=3", "--set", "dryRun=true")
		args := c.deployment.Spec.Template.Spec.Containers[0].Args
		leader, rest := leaderArgs(t, args)
		if _, ok := parseArgs(t, rest)["dry-run"]; !ok || len(leader) != len(wantLeaderArgs) || *c.deployment.Spec.Replicas != 3 || c.pdb == nil {
			t.Errorf("replicas %d, PodDisruptionBudget %v, arguments %q: want 3, one, --dry-run and leader election", *c.deployment.Spec.Replicas, c.pdb != nil, args)
		}
	})

	t.Run("another release name keeps the job and names the lease after itself", func(t *testing.T) {
		out, stderr, err := helm("template", "prod", chartDir, "-f", chartHA)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		for _, want := range []string{"--leader-elect.lease-name=prod-vastwatch", "resourceNames: [prod-vastwatch]",
			"jobLabel: app.kubernetes.io/name", "app.kubernetes.io/name: vastwatch"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("helm template prod: no %q", want)
			}
		}
	})
}
