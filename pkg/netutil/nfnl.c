// SPDX-License-Identifier: Apache-2.0
/*
 * Closing a NETLINK_NETFILTER socket (nftables: pkg/nft; conntrack: conntrack.c) off the
 * container start path: see close_async() below. Creates no kernel objects.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/io_uring.h>

#include "netutil/internal.h"

/*
 * Releasing a netfilter netlink socket makes the kernel finish the deferred destruction of
 * every committed transaction first (nft_rcv_nl_event() flushes the destroy work, which waits
 * for an RCU grace period, 5 to 12 ms here, holding the commit mutex): a batch that deleted
 * rules or chains leaves such work. Two things keep it off the container start path and out of
 * other committers' way. A socket that committed is parked until the process exits (a DEL
 * commits before it deletes the link, whose own ~20 ms cover the grace period, so by exit the
 * destroy work is done and the release finds nothing to wait for). Every netfilter socket is
 * parked, whether it committed or not: the flush is per network namespace, so closing a socket
 * that only listed (or a conntrack one) waits for another's destroy work. At exit each socket's
 * last reference goes to an io_uring ring as a registered file, whose teardown runs in a kernel
 * worker: what wait remains is the worker's. Where io_uring is unavailable (old kernel,
 * io_uring_disabled, seccomp) the socket is simply closed.
 */
static void close_async(struct mnl_socket *nl)
{
	struct io_uring_params p = { 0 };
	int fd = mnl_socket_get_fd(nl);
	int ring = (int)syscall(__NR_io_uring_setup, 1, &p);

	if (ring >= 0 && syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, &fd, 1) < 0) {
		close(ring);
		ring = -1;
	}
	mnl_socket_close(nl); /* the last reference when the ring holds none */
	if (ring >= 0)
		close(ring);
}

static struct mnl_socket *parked[8];
static size_t n_parked;

static void release_parked(void)
{
	while (n_parked)
		close_async(parked[--n_parked]);
}

static bool park(struct mnl_socket *nl)
{
	static bool registered;

	if (!registered && atexit(release_parked))
		return false;
	registered = true;
	if (n_parked == sizeof(parked) / sizeof(parked[0]))
		return false;
	parked[n_parked++] = nl;
	return true;
}

void nu__nfnl_close(struct mnl_socket *nl)
{
	if (nl && !park(nl))
		close_async(nl);
}
