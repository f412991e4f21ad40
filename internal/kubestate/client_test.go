package kubestate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/vastwatch/vastwatch/internal/kubestate"
	"github.com/vastwatch/vastwatch/internal/leader/leasetest"
)

// apiServer serves one namespace's ConfigMaps over HTTP as the API server does, refusing a
// stale resourceVersion with 409 Conflict.
type apiServer struct {
	mu  sync.Mutex
	rv  int
	cms map[string]corev1.ConfigMap
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	const prefix = "/api/v1/namespaces/vw/configmaps"
	var cm corev1.ConfigMap
	if r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&cm); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	name := r.URL.Path[len(prefix):]
	switch {
	case r.Method == http.MethodGet && len(name) > 1:
		got, ok := a.cms[name[1:]]
		if !ok {
			status(w, http.StatusNotFound, metav1.StatusReasonNotFound)
			return
		}
		cm = got
	case r.Method == http.MethodPost && name == "":
		if _, ok := a.cms[cm.Name]; ok {
			status(w, http.StatusConflict, metav1.StatusReasonAlreadyExists)
			return
		}
	case r.Method == http.MethodPut && name == "/"+cm.Name:
		if a.cms[cm.Name].ResourceVersion != cm.ResourceVersion {
			status(w, http.StatusConflict, metav1.StatusReasonConflict)
			return
		}
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodGet {
		a.rv++
		cm.ResourceVersion = strconv.Itoa(a.rv)
		a.cms[cm.Name] = cm
	}
	cm.APIVersion, cm.Kind = "v1", "ConfigMap"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(cm)
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Reason: reason, Code: int32(code)})
}

// The production client speaks the API server's ConfigMaps API: the paths, the bodies, and
// its errors as client-go's typed client reports them.
func TestTheRESTClientSpeaksTheConfigMapsAPI(t *testing.T) {
	srv := &apiServer{cms: map[string]corev1.ConfigMap{}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	cms, err := kubestate.NewClient(&rest.Config{Host: hs.URL}, "vw")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cms.Get(ctx, "vastwatch-state", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get of an absent configmap: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vastwatch-state"}, Data: map[string]string{"k": "1"}}
	created, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil || created.ResourceVersion == "" {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("a second create: %v", err)
	}
	created.Data["k"] = "2"
	updated, err := cms.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil || updated.Data["k"] != "2" || updated.ResourceVersion == created.ResourceVersion {
		t.Fatalf("update: %+v %v", updated, err)
	}
	if _, err := cms.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("an update at a stale resourceVersion: %v", err)
	}
	got, err := cms.Get(ctx, "vastwatch-state", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "2" {
		t.Fatalf("get: %+v %v", got, err)
	}
}

// The production client over leasetest's API server on loopback: RBAC's 403 and a stale
// resourceVersion's 409 reach the store as the errors it tells apart.
func TestTheRESTClientOverTheLeaseTestServer(t *testing.T) {
	s := leasetest.NewStore()
	f := &leasetest.Faults{}
	hs := httptest.NewServer(s.Handler(f))
	defer hs.Close()
	cms, err := kubestate.NewClient(&rest.Config{Host: hs.URL}, "vw")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vastwatch-state"}, Data: map[string]string{"k": "1"}}
	f.Forbidden.Store(true)
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a create RBAC refuses: %v", err)
	}
	f.Forbidden.Store(false)
	created, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil || s.ConfigMap("vw", "vastwatch-state").Data["k"] != "1" {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("a second create: %v", err)
	}
	created.Data["k"] = "2"
	if _, err := cms.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	created.Data["k"] = "3"
	if _, err := cms.Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("an update at a stale resourceVersion: %v", err)
	}
	if got := s.ConfigMap("vw", "vastwatch-state").Data["k"]; got != "2" {
		t.Fatalf("stored %q after a refused update", got)
	}
}
