package leader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime/schema"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clientcmdlatest "k8s.io/client-go/tools/clientcmd/api/latest"
)

const userAgent = "vastwatch-leader-election"

// NewClient returns a client of the coordination.k8s.io/v1 API (Leases, all leader election
// uses) from the pod's service account when kubeconfig is "" or from the current context of the
// kubeconfig file otherwise. It is not the whole clientset: that would link every API group's
// client into the binary, about 10 MB of code and 6 MB of the daemon's resident memory.
func NewClient(kubeconfig string) (coordinationv1client.CoordinationV1Interface, error) {
	cfg, err := RESTConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	return NewClientFor(cfg)
}

// NewClientFor is NewClient for a REST config already made (RESTConfig).
func NewClientFor(cfg *rest.Config) (coordinationv1client.CoordinationV1Interface, error) {
	cs, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
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
