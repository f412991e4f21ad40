package leasetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

// restResource is one resource as the API server serves it over HTTP.
type restResource struct {
	prefix   string // the path up to the namespace: /apis/<group>/<version> or /api/v1
	gvr      schema.GroupVersionResource
	kind     string
	apiVer   string
	newEmpty func() runtime.Object
}

var restResources = []restResource{
	{prefix: "/apis/coordination.k8s.io/v1", gvr: coordinationv1.SchemeGroupVersion.WithResource("leases"),
		kind: "Lease", apiVer: "coordination.k8s.io/v1", newEmpty: func() runtime.Object { return &coordinationv1.Lease{} }},
	{prefix: "/api/v1", gvr: corev1.SchemeGroupVersion.WithResource("configmaps"),
		kind: "ConfigMap", apiVer: "v1", newEmpty: func() runtime.Object { return &corev1.ConfigMap{} }},
}

// Handler serves the store over HTTP in the API server's REST shapes, as one candidate (f may
// be nil) sees it: GET .../namespaces/<ns>/<resource>/<name>, POST .../namespaces/<ns>/<resource>
// and PUT .../namespaces/<ns>/<resource>/<name> of Leases (under /apis/coordination.k8s.io/v1)
// and ConfigMaps (under /api/v1), with the same checks as Client: 409 AlreadyExists on a create
// of an existing object, 409 Conflict on a stale or missing resourceVersion, 403 Forbidden
// while f.Forbidden is set, 503 while f.RejectWrites is. Errors are metav1.Status bodies, so
// client-go's REST client reports them as apierrors. Serve it with httptest on 127.0.0.1.
func (s *Store) Handler(f *Faults) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obj, code, err := s.serve(r, f)
		if err != nil {
			writeStatus(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(obj)
	})
}

// serve runs one request against the store and returns the object to answer with.
func (s *Store) serve(r *http.Request, f *Faults) (runtime.Object, int, error) {
	res, ns, name, ok := route(r.URL.Path)
	if !ok {
		return nil, 0, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path)
	}
	var action k8stesting.Action
	code := http.StatusOK
	switch {
	case r.Method == http.MethodGet && name != "":
		action = k8stesting.NewGetAction(res.gvr, ns, name)
	case r.Method == http.MethodPost && name == "":
		obj, err := decode(r, res, "")
		if err != nil {
			return nil, 0, err
		}
		action, code = k8stesting.NewCreateAction(res.gvr, ns, obj), http.StatusCreated
	case r.Method == http.MethodPut && name != "":
		obj, err := decode(r, res, name)
		if err != nil {
			return nil, 0, err
		}
		action = k8stesting.NewUpdateAction(res.gvr, ns, obj)
	default:
		return nil, 0, apierrors.NewMethodNotSupported(res.gvr.GroupResource(), r.Method)
	}
	obj, err := s.react(action, f)
	if action.GetVerb() == "get" && res.gvr.Resource == "leases" && s.ReadDelay > 0 {
		_ = s.Clock.Sleep(r.Context(), s.ReadDelay)
	}
	if err != nil {
		return nil, 0, err
	}
	// The API server answers with the kind and version; the stored objects carry none (obj is
	// the store's copy).
	obj.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(res.apiVer, res.kind))
	return obj, code, nil
}

// route splits <prefix>/namespaces/<ns>/<resource>[/<name>].
func route(path string) (res restResource, ns, name string, ok bool) {
	for _, res := range restResources {
		rest, found := strings.CutPrefix(path, res.prefix+"/namespaces/")
		if !found {
			continue
		}
		parts := strings.Split(rest, "/")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] != res.gvr.Resource {
			return res, "", "", false
		}
		if len(parts) == 3 {
			name = parts[2]
		}
		return res, parts[0], name, true
	}
	return restResource{}, "", "", false
}

// decode reads the request's object; on a PUT its name must be the path's.
func decode(r *http.Request, res restResource, name string) (runtime.Object, error) {
	obj := res.newEmpty()
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(obj); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("decode %s: %v", res.kind, err))
	}
	m, ok := obj.(metav1.Object)
	if !ok || (name != "" && m.GetName() != name) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s name %q does not match the path's %q", res.kind, m.GetName(), name))
	}
	return obj, nil
}

// writeStatus answers err as the API server does: a metav1.Status with its code.
func writeStatus(w http.ResponseWriter, err error) {
	var st apierrors.APIStatus
	status := metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: err.Error()}
	if errors.As(err, &st) {
		status = st.Status()
	}
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(status.Code))
	_ = json.NewEncoder(w).Encode(status)
}
