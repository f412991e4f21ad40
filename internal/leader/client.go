package leader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clientcmdlatest "k8s.io/client-go/tools/clientcmd/api/latest"
)

const userAgent = "vastwatch-leader-election"

// Leases is one namespace's Leases as the election uses them: read one, create it, replace it at
// the resourceVersion read. client-go's typed LeaseInterface satisfies it (tests pass fakes);
// NewLeases is the production one. Errors are the API server's (apierrors.IsNotFound,
// IsAlreadyExists, IsConflict).
type Leases interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
}

// NewClient returns the Leases of namespace from the pod's service account when kubeconfig is
// "" or from the current context of the kubeconfig file otherwise.
func NewClient(kubeconfig, namespace string) (Leases, error) {
	cfg, err := RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	return NewLeases(cfg, namespace)
}

// NewLeases returns the Leases of namespace through cfg (RESTConfig): client-go's REST client,
// so TLS, token-file rotation and exec plugins work as with client-go's typed client.
func NewLeases(cfg *rest.Config, namespace string) (Leases, error) {
	// A scheme of the coordination.k8s.io/v1 types alone. client-go's kubernetes/scheme
	// registers every API group's types at start-up and its typed clients link every group's
	// code, about 8 MB of the daemon's resident memory for three requests on one Lease.
	sch := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(sch); err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	c := rest.CopyConfig(cfg)
	gv := coordinationv1.SchemeGroupVersion
	c.GroupVersion, c.APIPath = &gv, "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(sch).WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return restLeases{rc: rc, ns: namespace, params: runtime.NewParameterCodec(sch)}, nil
}

type restLeases struct {
	rc     rest.Interface
	ns     string
	params runtime.ParameterCodec
}

func (r restLeases) Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	out := &coordinationv1.Lease{}
	err := r.rc.Get().Namespace(r.ns).Resource("leases").Name(name).
		VersionedParams(&opts, r.params).Do(ctx).Into(out)
	return leaseResult(out, err)
}

func (r restLeases) Create(ctx context.Context, l *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error) {
	out := &coordinationv1.Lease{}
	err := r.rc.Post().Namespace(r.ns).Resource("leases").
		VersionedParams(&opts, r.params).Body(l).Do(ctx).Into(out)
	return leaseResult(out, err)
}

func (r restLeases) Update(ctx context.Context, l *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error) {
	out := &coordinationv1.Lease{}
	err := r.rc.Put().Namespace(r.ns).Resource("leases").Name(l.Name).
		VersionedParams(&opts, r.params).Body(l).Do(ctx).Into(out)
	return leaseResult(out, err)
}

func leaseResult(l *coordinationv1.Lease, err error) (*coordinationv1.Lease, error) {
	if err != nil {
		return nil, err
	}
	return l, nil
}

// RESTConfig is the API server's address and credentials NewClient uses: the pod's service
// account when kubeconfig is "", else the kubeconfig file's current context.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config: %w", err)
		}
		return rest.AddUserAgent(cfg, userAgent), nil
	}
	cfg, err := restConfigFromFile(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return rest.AddUserAgent(cfg, userAgent), nil
}

// restConfigFromFile reads the current context of a kubeconfig file. client-go's clientcmd
// would do this, but it pulls in modules the build does not pin; this covers what a
// kubeconfig for a controller holds: server, CA, client certificate, token and exec plugins.
// Relative paths are taken from the file's directory, as kubectl does.
func restConfigFromFile(path string) (*rest.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj, _, err := clientcmdlatest.Codec.Decode(data,
		&schema.GroupVersionKind{Version: clientcmdlatest.Version, Kind: "Config"}, clientcmdapi.NewConfig())
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	kc, ok := obj.(*clientcmdapi.Config)
	if !ok {
		return nil, fmt.Errorf("decode: got %T, want a kubeconfig", obj)
	}
	kctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("current context %q not found", kc.CurrentContext)
	}
	cluster, ok := kc.Clusters[kctx.Cluster]
	if !ok || cluster.Server == "" {
		return nil, fmt.Errorf("context %q: cluster %q not found or without server", kc.CurrentContext, kctx.Cluster)
	}
	auth := kc.AuthInfos[kctx.AuthInfo]
	if auth == nil {
		auth = clientcmdapi.NewAuthInfo()
	}
	if auth.AuthProvider != nil {
		return nil, errors.New("auth-provider plugins are not supported; use a token, a client certificate or an exec plugin")
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	return &rest.Config{
		Host: cluster.Server,
		TLSClientConfig: rest.TLSClientConfig{
			Insecure:   cluster.InsecureSkipTLSVerify,
			ServerName: cluster.TLSServerName,
			CAData:     cluster.CertificateAuthorityData,
			CAFile:     rel(cluster.CertificateAuthority),
			CertData:   auth.ClientCertificateData,
			CertFile:   rel(auth.ClientCertificate),
			KeyData:    auth.ClientKeyData,
			KeyFile:    rel(auth.ClientKey),
		},
		BearerToken:     auth.Token,
		BearerTokenFile: rel(auth.TokenFile),
		Username:        auth.Username,
		Password:        auth.Password,
		Impersonate: rest.ImpersonationConfig{
			UserName: auth.Impersonate,
			UID:      auth.ImpersonateUID,
			Groups:   auth.ImpersonateGroups,
			Extra:    auth.ImpersonateUserExtra,
		},
		ExecProvider: auth.Exec,
	}, nil
}
