// SPDX-License-Identifier: Apache-2.0
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/containernetworking/cni/libcni"
)

// extra: GC and STATUS appeared in libcni 1.2.0 (GCNetworkList, GetStatusNetworkList); Debian
// 12's 1.1.2 has neither, so this runner says so with exit 3 (the test prints a skip line).
func extra(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList, verb string) error {
	fmt.Fprintf(os.Stderr, "libcni-run: %s: not in this libcni (needs 1.2.0)\n", verb)
	os.Exit(3)
	return nil
}
