package kubestate

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// ConfigMaps is the part of one namespace's ConfigMaps API the store uses. client-go's typed
// ConfigMapInterface satisfies it (tests pass its fake); NewClient is the production one.
type ConfigMaps interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error)
	Create(ctx context.Context, cm *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error)
	Update(ctx context.Context, cm *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error)
}

// Leases is the part of one namespace's Leases API the store uses: it reads the Lease that
// fences its writes. client-go's typed LeaseInterface and leader.Leases satisfy it.
type Leases interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
}

// NewClient returns the ConfigMaps of namespace through cfg (the leader election's REST
// config). It is three requests over client-go's REST client rather than the typed core/v1
// client, whose every other resource and apply configuration would add about 2 MB to the
// binary for nothing.
func NewClient(cfg *rest.Config, namespace string) (ConfigMaps, error) {
	// A scheme of the core/v1 types alone: client-go's kubernetes/scheme would register every
	// API group's types at start-up, megabytes of the daemon's resident memory for one resource.
	sch := runtime.NewScheme()
	if err := corev1.AddToScheme(sch); err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	c := rest.CopyConfig(cfg)
	gv := corev1.SchemeGroupVersion
	c.GroupVersion, c.APIPath = &gv, "/api"
	c.NegotiatedSerializer = serializer.NewCodecFactory(sch).WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return restConfigMaps{rc: rc, ns: namespace, params: runtime.NewParameterCodec(sch)}, nil
}

type restConfigMaps struct {
	rc     rest.Interface
	ns     string
	params runtime.ParameterCodec
}

func (r restConfigMaps) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := r.rc.Get().Namespace(r.ns).Resource("configmaps").Name(name).
		VersionedParams(&opts, r.params).Do(ctx).Into(out)
	return result(out, err)
}

func (r restConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := r.rc.Post().Namespace(r.ns).Resource("configmaps").
		VersionedParams(&opts, r.params).Body(cm).Do(ctx).Into(out)
	return result(out, err)
}

func (r restConfigMaps) Update(ctx context.Context, cm *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := r.rc.Put().Namespace(r.ns).Resource("configmaps").Name(cm.Name).
		VersionedParams(&opts, r.params).Body(cm).Do(ctx).Into(out)
	return result(out, err)
}

func result(cm *corev1.ConfigMap, err error) (*corev1.ConfigMap, error) {
	if err != nil {
		return nil, err
	}
	return cm, nil
}
