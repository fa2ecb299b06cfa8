// Command kube-router-netpol enforces NetworkPolicy on the local cluster's real node: kube-router's
// network policy controller (iptables and ipsets) and its health endpoint, and nothing else of
// kube-router (no BGP routing, no service proxy: the node has its CNI bridge and kube-proxy).
//
// It accepts kube-router's own flags (--kubeconfig, --hostname-override, --health-port,
// --service-cluster-ip-range, ...); the firewall is always on and the other controllers off.
// Why kube-router and not kube-network-policies: docs/testing.md ("NetworkPolicy").
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/spf13/pflag"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

const module = "github.com/cloudnativelabs/kube-router/v2"

// moduleVersion is the kube-router module this binary was built from, as go.mod resolved it.
func moduleVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == module {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	config := options.NewKubeRouterConfig()
	flags := pflag.NewFlagSet("kube-router-netpol", pflag.ExitOnError)
	config.AddFlags(flags)
	_ = flags.Parse(os.Args[1:])
	if config.Version {
		fmt.Printf("kube-router-netpol (%s %s)\n", module, moduleVersion())
		return
	}
	if err := run(config); err != nil {
		fmt.Fprintf(os.Stderr, "kube-router-netpol: %v\n", err)
		os.Exit(1)
	}
}

func run(config *options.KubeRouterConfig) error {
	config.RunFirewall, config.RunRouter, config.RunServiceProxy, config.RunLoadBalancer = true, false, false, false
	if config.Kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	restConfig, err := clientcmd.BuildConfigFromFlags(config.Master, config.Kubeconfig)
	if err != nil {
		return fmt.Errorf("reading %s: %w", config.Kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	var ipsetMutex sync.Mutex
	stop := make(chan struct{})
	// The controllers send heartbeats here; the health controller reads them and serves /healthz.
	heartbeats := make(chan *healthcheck.ControllerHeartbeat, 10)
	health, err := healthcheck.NewHealthController(config)
	if err != nil {
		return err
	}
	wg.Add(1)
	go health.RunServer(stop, &wg)

	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods().Informer()
	namespaces := factory.Core().V1().Namespaces().Informer()
	policies := factory.Networking().V1().NetworkPolicies().Informer()
	factory.Start(stop)
	synced := make(chan struct{})
	go func() { factory.WaitForCacheSync(stop); close(synced) }()
	select {
	case <-synced:
	case <-time.After(config.CacheSyncTimeout):
		return fmt.Errorf("informer caches not synced after %s", config.CacheSyncTimeout)
	}
	health.SetAlive()
	wg.Add(1)
	go health.RunCheck(heartbeats, stop, &wg)

	iptables, ipsets, err := netpol.NewIPTablesHandlers(config)
	if err != nil {
		return err
	}
	controller, err := netpol.NewNetworkPolicyController(client, config, pods, policies, namespaces,
		&ipsetMutex, iptables, ipsets)
	if err != nil {
		return err
	}
	for informer, handler := range map[cache.SharedIndexInformer]cache.ResourceEventHandler{
		pods: controller.PodEventHandler, namespaces: controller.NamespaceEventHandler,
		policies: controller.NetworkPolicyEventHandler,
	} {
		if _, err := informer.AddEventHandler(handler); err != nil {
			return err
		}
	}
	wg.Add(1)
	go controller.Run(heartbeats, stop, &wg)
	klog.Infof("kube-router-netpol: enforcing NetworkPolicy on node %q", config.HostnameOverride)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	close(stop)
	wg.Wait()
	return nil
}
