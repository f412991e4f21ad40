package deploy_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/vastwatch/vastwatch/internal/daemon"
)

// haDir is the overlay that runs two replicas with leader election. kustomize refuses an
// overlay inside its base's directory, hence a sibling of deploy/kubernetes.
const haDir = "kubernetes-ha"

// leaderFlags are the leader election flags of `vastwatch run` the overlay passes, and
// whether each takes a value.
var leaderFlags = map[string]bool{
	"leader-elect":                false,
	"leader-elect.namespace":      true,
	"leader-elect.lease-name":     true,
	"leader-elect.lease-duration": true,
	"leader-elect.renew-deadline": true,
	"leader-elect.retry-period":   true,
	"leader-elect.kubeconfig":     true,
	// Followers' slower poll; the overlay keeps the daemon's default.
	"leader-elect.follower-poll-interval": true,
}

type haKustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string   `json:"namespace,omitempty"`
	Resources       []string `json:"resources"`
	Patches         []struct {
		Path   string `json:"path"`
		Target *struct {
			Group   string `json:"group,omitempty"`
			Version string `json:"version,omitempty"`
			Kind    string `json:"kind"`
			Name    string `json:"name"`
		} `json:"target,omitempty"`
	} `json:"patches"`
}

type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// deletePatch is a strategic-merge patch that removes one object of the base.
type deletePatch struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Patch           string            `json:"$patch"`
}

// haOverlay holds every file of the overlay, decoded strictly into its type.
type haOverlay struct {
	kustomization   haKustomization
	serviceAccount  *corev1.ServiceAccount
	stateConfigMap  *corev1.ConfigMap
	role            *rbacv1.Role
	roleBinding     *rbacv1.RoleBinding
	pdb             *policyv1.PodDisruptionBudget
	deploymentPatch *appsv1.Deployment
	deletes         []deletePatch
	argOps          []jsonPatchOp
}

// loadHA decodes the overlay's kustomization, then each resource by its kind and each patch
// by what it patches; a file the kustomization does not name fails the test.
func loadHA(t *testing.T) haOverlay {
	t.Helper()
	var o haOverlay
	if err := decodeStrict(filepath.Join(haDir, "kustomization.yaml"), &o.kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	named := map[string]bool{"kustomization.yaml": true}
	for _, r := range o.kustomization.Resources {
		if r == "../kubernetes" {
			continue
		}
		named[r] = true
		f := filepath.Join(haDir, r)
		var tm metav1.TypeMeta
		if err := decodeLoose(f, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ServiceAccount":
			target = setOnce(t, f, &o.serviceAccount)
		case "v1 ConfigMap":
			target = setOnce(t, f, &o.stateConfigMap)
		case "rbac.authorization.k8s.io/v1 Role":
			target = setOnce(t, f, &o.role)
		case "rbac.authorization.k8s.io/v1 RoleBinding":
			target = setOnce(t, f, &o.roleBinding)
		case "policy/v1 PodDisruptionBudget":
			target = setOnce(t, f, &o.pdb)
		default:
			t.Fatalf("%s: unexpected apiVersion/kind %q %q", f, tm.APIVersion, tm.Kind)
		}
		if err := decodeStrict(f, target); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for _, p := range o.kustomization.Patches {
		named[p.Path] = true
		f := filepath.Join(haDir, p.Path)
		if p.Target != nil { // a JSON 6902 patch: a list of operations
			if p.Target.Kind != "Deployment" || p.Target.Name != "vastwatch" {
				t.Fatalf("%s: targets %s %s", f, p.Target.Kind, p.Target.Name)
			}
			var ops []jsonPatchOp
			if err := decodeStrict(f, &ops); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			o.argOps = append(o.argOps, ops...)
			continue
		}
		var tm metav1.TypeMeta
		if err := decodeLoose(f, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var del struct {
			Patch string `json:"$patch"`
		}
		if err := decodeLoose(f, &del); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch {
		case del.Patch == "delete":
			var d deletePatch
			if err := decodeStrict(f, &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			o.deletes = append(o.deletes, d)
		case tm.APIVersion == "apps/v1" && tm.Kind == "Deployment":
			if err := decodeStrict(f, setOnce(t, f, &o.deploymentPatch)); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		default:
			t.Fatalf("%s: unexpected patch of %q %q", f, tm.APIVersion, tm.Kind)
		}
	}
	files, _ := filepath.Glob(filepath.Join(haDir, "*.yaml"))
	for _, f := range files {
		if !named[filepath.Base(f)] {
			t.Errorf("%s is not named by the overlay's kustomization", f)
		}
	}
	if o.serviceAccount == nil || o.stateConfigMap == nil || o.role == nil || o.roleBinding == nil || o.deploymentPatch == nil || len(o.argOps) == 0 {
		t.Fatal("the overlay lacks a ServiceAccount, state ConfigMap, Role, RoleBinding, Deployment patch or argument patch")
	}
	return o
}

// leaderArgs splits a run argument list into the leader election flags, checked here, and
// the rest, left to parseArgs.
func leaderArgs(t *testing.T, args []string) (leader map[string]string, rest []string) {
	t.Helper()
	leader = map[string]string{}
	for _, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		takesValue, known := leaderFlags[name]
		if !strings.HasPrefix(name, "leader-elect") {
			rest = append(rest, a)
			continue
		}
		switch {
		case !known:
			t.Errorf("unknown flag --%s", name)
		case takesValue != hasValue:
			t.Errorf("--%s: value %q given as a separate argument or to a boolean; use --flag=value", name, value)
		}
		if _, dup := leader[name]; dup {
			t.Errorf("--%s given twice", name)
		}
		leader[name] = value
	}
	return leader, rest
}

// wantLeaderArgs is what the overlay must pass: in-cluster config, the pod's namespace,
// client-go's default timing.
var wantLeaderArgs = map[string]string{
	"leader-elect":                "",
	"leader-elect.namespace":      "$(POD_NAMESPACE)",
	"leader-elect.lease-name":     "vastwatch",
	"leader-elect.lease-duration": "15s",
	"leader-elect.renew-deadline": "10s",
	"leader-elect.retry-period":   "2s",
}

func TestHAOverlayDecodesStrictly(t *testing.T) {
	o := loadHA(t)
	base := loadManifests(t)

	t.Run("the base is deploy/kubernetes, in its namespace", func(t *testing.T) {
		if !slices.Contains(o.kustomization.Resources, "../kubernetes") {
			t.Errorf("resources %q do not include ../kubernetes", o.kustomization.Resources)
		}
		if o.kustomization.Namespace != base.kustomization.Namespace {
			t.Errorf("namespace %q, base %q", o.kustomization.Namespace, base.kustomization.Namespace)
		}
	})

	t.Run("the arguments are appended to the base's, as leader election flags", func(t *testing.T) {
		var added []string
		for _, op := range o.argOps {
			if op.Op != "add" || op.Path != "/spec/template/spec/containers/0/args/-" {
				t.Errorf("operation %s %s; want add to the end of the first container's args", op.Op, op.Path)
			}
			added = append(added, op.Value)
		}
		c := base.deployment.Spec.Template.Spec.Containers[0]
		if c.Name != "vastwatch" {
			t.Fatalf("the base's first container is %q", c.Name)
		}
		leader, rest := leaderArgs(t, append(slices.Clone(c.Args), added...))
		parseArgs(t, rest)
		if len(rest) != len(c.Args) {
			t.Errorf("the overlay adds non-leader arguments: %q", added)
		}
		for name, want := range wantLeaderArgs {
			if got, ok := leader[name]; !ok || got != want {
				t.Errorf("--%s=%q, want %q", name, got, want)
			}
		}
		if len(leader) != len(wantLeaderArgs) {
			t.Errorf("leader flags %v, want %v", leader, wantLeaderArgs)
		}
	})

	t.Run("two replicas rolled one at a time, spread over nodes", func(t *testing.T) {
		d := o.deploymentPatch
		if d.Name != base.deployment.Name {
			t.Errorf("patches Deployment %q, base has %q", d.Name, base.deployment.Name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("replicas %v, want 2", d.Spec.Replicas)
		}
		s := d.Spec.Strategy
		if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
			s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 0 {
			t.Errorf("strategy %+v, want RollingUpdate with maxUnavailable 0", s)
		}
		aff := d.Spec.Template.Spec.Affinity
		if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Fatal("no preferred pod anti-affinity")
		}
		term := aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
		sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if err != nil || !sel.Matches(labels.Set(base.deployment.Spec.Template.Labels)) || term.TopologyKey != corev1.LabelHostname {
			t.Errorf("anti-affinity %+v does not spread the pods over hosts (%v)", term, err)
		}
		if o.pdb == nil || o.pdb.Spec.MaxUnavailable == nil || o.pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Fatal("no PodDisruptionBudget with maxUnavailable 1")
		}
		if sel, err := metav1.LabelSelectorAsSelector(o.pdb.Spec.Selector); err != nil || !sel.Matches(labels.Set(base.deployment.Spec.Template.Labels)) {
			t.Errorf("the PodDisruptionBudget does not select the pods (%v)", err)
		}
	})

	t.Run("the pod runs as the bound service account with its token and its own name", func(t *testing.T) {
		spec := o.deploymentPatch.Spec.Template.Spec
		if spec.ServiceAccountName != o.serviceAccount.Name {
			t.Errorf("serviceAccountName %q, ServiceAccount %q", spec.ServiceAccountName, o.serviceAccount.Name)
		}
		if spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
			t.Error("the token is not mounted; the in-cluster client has no credentials")
		}
		if len(spec.Containers) != 1 || spec.Containers[0].Name != "vastwatch" {
			t.Fatalf("containers %+v", spec.Containers)
		}
		fields := map[string]string{}
		for _, e := range spec.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
			}
		}
		if fields["POD_NAME"] != "metadata.name" || fields["POD_NAMESPACE"] != "metadata.namespace" {
			t.Errorf("downward API env %v, want POD_NAME and POD_NAMESPACE", fields)
		}
		rb := o.roleBinding
		if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != o.role.Name || rb.RoleRef.APIGroup != rbacv1.GroupName {
			t.Errorf("roleRef %+v, want Role %s", rb.RoleRef, o.role.Name)
		}
		if len(rb.Subjects) != 1 || rb.Subjects[0].Kind != rbacv1.ServiceAccountKind ||
			rb.Subjects[0].Name != o.serviceAccount.Name || rb.Subjects[0].Namespace != o.kustomization.Namespace {
			t.Errorf("subjects %+v, want ServiceAccount %s/%s", rb.Subjects, o.kustomization.Namespace, o.serviceAccount.Name)
		}
	})

	t.Run("the Role grants the lease and the state's ConfigMap, and nothing else", func(t *testing.T) {
		granted := map[string][]string{} // "group/resource verb" -> resource names ("*" for any)
		for _, r := range o.role.Rules {
			names := r.ResourceNames
			if len(names) == 0 {
				names = []string{"*"}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						k := g + "/" + res + " " + v
						granted[k] = append(granted[k], names...)
					}
				}
			}
		}
		lease := wantLeaderArgs["leader-elect.lease-name"]
		state := daemon.StateConfigMap(lease)
		// create cannot be limited by name: granted for the Lease only, whose first replica
		// makes it; the state's ConfigMap is shipped, so ConfigMaps need no create.
		want := map[string][]string{
			"coordination.k8s.io/leases create": {"*"},
			"coordination.k8s.io/leases get":    {lease},
			"coordination.k8s.io/leases update": {lease},
			"/configmaps get":                   {state},
			"/configmaps update":                {state},
		}
		for k, names := range want {
			if !slices.Equal(granted[k], names) {
				t.Errorf("%s granted on %q, want %q", k, granted[k], names)
			}
		}
		for k := range granted {
			if _, ok := want[k]; !ok {
				t.Errorf("%s granted on %q: more than leader election and its state need", k, granted[k])
			}
		}
		if cm := o.stateConfigMap; cm.Name != state || len(cm.Data) != 0 || len(cm.BinaryData) != 0 {
			t.Errorf("state ConfigMap %q with data %v; want %q, shipped empty (the daemon fills it)", cm.Name, cm.Data, state)
		}
	})

	t.Run("the state claim no two pods can mount is replaced by an emptyDir, unused", func(t *testing.T) {
		var vol *corev1.Volume
		for i, v := range o.deploymentPatch.Spec.Template.Spec.Volumes {
			if v.Name == "state" {
				vol = &o.deploymentPatch.Spec.Template.Spec.Volumes[i]
			}
		}
		if vol == nil || vol.EmptyDir == nil || vol.PersistentVolumeClaim != nil {
			t.Fatalf("state volume %+v, want an emptyDir", vol)
		}
		if len(o.deletes) != 1 || o.deletes[0].Kind != "PersistentVolumeClaim" || o.deletes[0].Metadata.Name != base.pvc.Name {
			t.Errorf("delete patches %+v, want the base's claim %s", o.deletes, base.pvc.Name)
		}
	})
}

// TestHAOverlayBuilds builds the overlay with kubectl's kustomize and checks the Deployment
// it would apply: the patches must land where the strict decode above assumed.
func TestHAOverlayBuilds(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed; the strict decode above still checks every file")
	}
	base := loadManifests(t)
	out := run(t, ".", nil, kubectl, "kustomize", haDir)
	var kinds []string
	var d *appsv1.Deployment
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var obj struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := decodeStrictBytesLoose(doc, &obj); err != nil {
			t.Fatalf("kustomize output: %v", err)
		}
		kinds = append(kinds, obj.Kind)
		if obj.Kind != "Namespace" && obj.Metadata.Namespace != base.kustomization.Namespace {
			t.Errorf("%s %s in namespace %q", obj.Kind, obj.Metadata.Name, obj.Metadata.Namespace)
		}
		if obj.Kind == "Deployment" {
			d = new(appsv1.Deployment)
			if err := decodeStrictBytes(doc, d); err != nil {
				t.Fatalf("built Deployment: %v", err)
			}
		}
	}
	slices.Sort(kinds)
	want := []string{"ConfigMap", "ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "PrometheusRule", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount", "ServiceMonitor"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kustomize built %q, want %q", kinds, want)
	}
	if d == nil {
		t.Fatal("no Deployment built")
	}
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	leader, rest := leaderArgs(t, c.Args)
	if !slices.Equal(rest, base.deployment.Spec.Template.Spec.Containers[0].Args) {
		t.Errorf("run arguments %q, want the base's %q", rest, base.deployment.Spec.Template.Spec.Containers[0].Args)
	}
	if len(leader) != len(wantLeaderArgs) {
		t.Errorf("leader flags %v, want %v", leader, wantLeaderArgs)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || spec.ServiceAccountName != "vastwatch" {
		t.Errorf("replicas %d, strategy %s, serviceAccountName %q", *d.Spec.Replicas, d.Spec.Strategy.Type, spec.ServiceAccountName)
	}
	if env(c, "VAST_API_KEY_FILE") == "" {
		t.Error("the patch dropped the base's VAST_API_KEY_FILE")
	}
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("volume %s still mounts claim %s", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
}

// TestLeaderFlagsExistInTheBinary ties leaderFlags to `vastwatch run`. It skips while run has
// no --leader-elect at all (issue 11 wires it in cmd/vastwatch); once it has one, every flag
// the overlay may pass must exist.
func TestLeaderFlagsExistInTheBinary(t *testing.T) {
	bin := vastwatchBinary(t)
	cmd := exec.Command(bin, "run", "-h")
	cmd.Env = cleanEnv()
	out, _ := cmd.CombinedOutput()
	have := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([A-Za-z0-9][A-Za-z0-9._-]*)`).FindAllStringSubmatch(string(out), -1) {
		have[m[1]] = true
	}
	if !have["leader-elect"] {
		t.Skip("vastwatch run has no --leader-elect yet")
	}
	for name := range leaderFlags {
		if !have[name] {
			t.Errorf("the HA overlay may pass --%s, but vastwatch run has no such flag", name)
		}
	}
}
