package kubestate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// ConfigMaps is the part of one namespace's ConfigMaps API the store uses. client-go's typed
// ConfigMapInterface satisfies it (tests pass its fake); NewClient is the production one.
type ConfigMaps interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error)
	Create(ctx context.Context, cm *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error)
	Update(ctx context.Context, cm *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error)
}

// NewClient returns the ConfigMaps of namespace through cfg (the leader election's REST
// config). It is three requests over client-go's REST client rather than the typed core/v1
// client, whose every other resource and apply configuration would add about 2 MB to the
// binary for nothing.
func NewClient(cfg *rest.Config, namespace string) (ConfigMaps, error) {
	c := rest.CopyConfig(cfg)
	gv := corev1.SchemeGroupVersion
	c.GroupVersion, c.APIPath = &gv, "/api"
	c.NegotiatedSerializer = rest.CodecFactoryForGeneratedClient(scheme.Scheme, scheme.Codecs).WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return restConfigMaps{rc: rc, ns: namespace}, nil
}

type restConfigMaps struct {
	rc rest.Interface
	ns string
}

func (r restConfigMaps) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := r.rc.Get().Namespace(r.ns).Resource("configmaps").Name(name).
		VersionedParams(&opts, scheme.ParameterCodec).Do(ctx).Into(out)
	return result(out, err)
}

func (r restConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := r.rc.Post().Namespace(r.ns).Resource("configmaps").
		VersionedParams(&opts, scheme.ParameterCodec).Body(cm).Do(ctx).Into(out)
	return result(out, err)
}

func (r restConfigMaps) Update(ctx context.Context, cm *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := r.rc.Put().Namespace(r.ns).Resource("configmaps").Name(cm.Name).
		VersionedParams(&opts, scheme.ParameterCodec).Body(cm).Do(ctx).Into(out)
	return result(out, err)
}

func result(cm *corev1.ConfigMap, err error) (*corev1.ConfigMap, error) {
	if err != nil {
		return nil, err
	}
	return cm, nil
}
