// SPDX-License-Identifier: Apache-2.0
//
// libcni-run: Go's libcni (Debian's golang-github-appc-cni-dev, built offline in GOPATH mode by
// tests/netns/libcni_interop.sh) driving one network, the reference for pkg/runtime.
//
//	libcni-run add|check|del CONFDIR NETWORK NETNS CONTAINERID IFNAME CACHEDIR
//	libcni-run validate|gc|status CONFDIR NETWORK CACHEDIR
//	libcni-run spec      (the newest spec version this libcni runs: version.Current())
//
// CNI_PATH (':'-separated) says where the plugins are; CNI_ARGS ("K=V;K=V") and CAP_ARGS (a JSON
// object) as cnitool reads them. add prints the result JSON, validate the capabilities (sorted,
// one a line). gc and status exit 3 when this libcni has no GCNetworkList/GetStatusNetworkList
// (libcni < 1.2.0, Debian 12's 1.1.2). Errors go to stderr, exit 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/version"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "libcni-run: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		die("usage: add|check|del CONFDIR NETWORK NETNS CONTAINERID IFNAME CACHEDIR | validate|gc|status CONFDIR NETWORK CACHEDIR")
	}
	verb := os.Args[1]
	if verb == "spec" {
		fmt.Println(version.Current())
		return
	}
	var confDir, network, netns, cid, ifname, cacheDir string
	switch verb {
	case "add", "check", "del":
		if len(os.Args) != 8 {
			die("%s wants 6 arguments", verb)
		}
		confDir, network, netns, cid, ifname, cacheDir = os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6], os.Args[7]
	case "validate", "gc", "status":
		if len(os.Args) != 5 {
			die("%s wants 3 arguments", verb)
		}
		confDir, network, cacheDir = os.Args[2], os.Args[3], os.Args[4]
	default:
		die("unknown verb %q", verb)
	}
	list, err := libcni.LoadConfList(confDir, network)
	if err != nil {
		die("load %s from %s: %v", network, confDir, err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(os.Getenv("CNI_PATH"), ":"), cacheDir, nil)
	rt := &libcni.RuntimeConf{ContainerID: cid, NetNS: netns, IfName: ifname}
	if s := os.Getenv("CNI_ARGS"); s != "" {
		for _, kv := range strings.Split(s, ";") {
			p := strings.SplitN(kv, "=", 2)
			if len(p) != 2 {
				die("invalid CNI_ARGS pair %q", kv)
			}
			rt.Args = append(rt.Args, [2]string{p[0], p[1]})
		}
	}
	if s := os.Getenv("CAP_ARGS"); s != "" {
		if err := json.Unmarshal([]byte(s), &rt.CapabilityArgs); err != nil {
			die("CAP_ARGS: %v", err)
		}
	}
	ctx := context.Background()
	switch verb {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			die("add: %v", err)
		}
		if err := res.Print(); err != nil {
			die("print: %v", err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			die("check: %v", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			die("del: %v", err)
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			die("validate: %v", err)
		}
		sort.Strings(caps)
		for _, c := range caps {
			fmt.Println(c)
		}
	case "gc", "status":
		if err := extra(ctx, cni, list, verb); err != nil {
			die("%s: %v", verb, err)
		}
	}
}
