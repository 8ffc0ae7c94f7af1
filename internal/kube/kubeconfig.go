package kube

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"berth.dev/berth/internal/resource"
)

// CheckKubeconfig returns a *resource.ValidationError at "kubeconfig"
// unless kubeconfig parses into a configuration whose current context
// names an API server, and is self-contained: the Berth server must not
// read files of its own host (certificate-authority, client-certificate,
// client-key, tokenFile given as paths) nor run commands (exec and
// auth-provider plugins) because a kubeconfig says so. Inline data
// (certificate-authority-data, client-certificate-data, token) is what it
// accepts.
func CheckKubeconfig(kubeconfig []byte) error {
	bad := func(format string, args ...any) error {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "kubeconfig", Reason: fmt.Sprintf(format, args...)}}}
	}
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return bad("not a kubeconfig: %v", err)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Clusters)) {
		if c := cfg.Clusters[name]; c.CertificateAuthority != "" {
			return bad("clusters[%s]: certificate-authority is a file of this machine; give certificate-authority-data", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.AuthInfos)) {
		u := cfg.AuthInfos[name]
		switch {
		case u.Exec != nil || u.AuthProvider != nil:
			return bad("users[%s]: credential plugins (exec, auth-provider) are not run by the server; give a token or client certificate data", name)
		case u.ClientCertificate != "" || u.ClientKey != "" || u.TokenFile != "":
			return bad("users[%s]: client-certificate, client-key and tokenFile are files of this machine; give their data inline", name)
		}
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		return bad("no usable current context: %v", err)
	}
	if rc.Host == "" {
		return bad("the current context names no API server")
	}
	return nil
}

// Probe asks the API server kubeconfig names whether it is ready, within
// timeout, and returns why not (nil when it answers). kubeconfig must have
// passed CheckKubeconfig.
func Probe(ctx context.Context, kubeconfig []byte, timeout time.Duration) error {
	cfg, err := RESTConfigFromKubeconfig(kubeconfig)
	if err != nil {
		return err
	}
	cfg.Timeout = timeout
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
		return fmt.Errorf("%s: %w", cfg.Host, err)
	}
	return nil
}
