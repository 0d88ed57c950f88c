// SPDX-License-Identifier: Apache-2.0
/*
 * host-device: moves an existing host interface into the container, renamed to CNI_IFNAME, as
 * the reference plugin does. The device is selected by "device" (name), "hwaddr", "kernelpath"
 * (its sysfs device directory), "pciBusID" or the runtime's "deviceID" (a PCI address or an
 * auxiliary-bus device), the last three by the first entry of the sysfs "net" directory. The move:
 * down, the original name kept in IFLA_IFALIAS, renamed in the host to a temporary name derived
 * from container id and CNI_IFNAME, moved, renamed CNI_IFNAME in the container, set up. Not
 * through a throwaway netns: that dies with a killed process, and a veth with it. Killed at any
 * point the device is in the host or the container, under a name DEL looks for. Every step is
 * undone on failure. A PCI device bound to a DPDK driver (vfio-pci, uio_pci_generic, igb_uio) has no
 * netdev: it is not moved, IPAM runs but is not applied. The plugin creates nothing.
 * DEL is idempotent where the reference is not: a container without CNI_IFNAME (device gone,
 * netns gone, ADD never ran) is success, and an interface named CNI_IFNAME without an alias is
 * not ours and is left alone. When the original name is taken on the host the device goes back
 * into the container, up, and DEL fails until the name is free. GC is IPAM's GC.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <linux/if.h>

#include "cni/cni.h"
#include "cni/hash.h"
#include "netutil/iface.h"
#include "netutil/netutil.h"

struct hostdev_conf {
	char *device;
	char *hwaddr;
	char *kernelpath;
	char *pci_bus_id;
	struct {
		char *device_id;
	} rc;

	/* derived by hostdev_validate() */
	char *aux_id;
	uint8_t mac[6];
};

static const struct cni_field rc_fields[] = {
	CNI_FIELD("deviceID", struct hostdev_conf, CNI_F_STR, rc.device_id,
	  .help = "capability deviceID: a PCI address or auxiliary device, over the keys above"),
	CNI_FIELD_END,
};

#define F(k, t, m, ...) CNI_FIELD(k, struct hostdev_conf, t, m, __VA_ARGS__)
static const struct cni_field fields[] = {
	F("device", CNI_F_STR, device,
	  .help = "the host interface to move into the container, by name"),
	F("hwaddr", CNI_F_STR, hwaddr, .help = "... or the host interface with this MAC address"),
	F("kernelpath", CNI_F_STR, kernelpath,
	  .help = "... or the first interface under this /sys/devices/ path"),
	F("pciBusID", CNI_F_STR, pci_bus_id,
	  .help = "... or the first interface of this PCI device (0000:00:1f.6)"),
	{.key = "runtimeConfig", .type = CNI_F_OBJ, .off = 0, .sub = rc_fields,
	  .help = "the runtime's capability arguments (only deviceID is read)"},
	CNI_FIELD_END,
};

/* Test hook: sysfs is read under this root (a fake tree); production leaves it unset. */
static const char *sysfs_root(void)
{
	const char *r = getenv("CNIC_TEST_SYSFS");

	return r && *r ? r : "";
}

/* "0000:00:1f.6" (domain optional), as the reference's PCI address pattern. */
static bool pci_addr_valid(const char *s)
{
	unsigned int d, b, dev, fn;
	char tail;

	if (sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dev, &fn, &tail) == 4)
		return true;
	return sscanf(s, "%2x:%2x.%1x%c", &b, &dev, &fn, &tail) == 3;
}

/* A path component from the config: no '/', not "." or "..", not empty. */
static bool component_ok(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int hostdev_validate(struct cni_ctx *ctx, void *conf, struct cni_err *e)
{
	struct hostdev_conf *c = conf;

	(void)ctx;
	if (c->rc.device_id && *c->rc.device_id) {
		if (!component_ok(c->rc.device_id))
			return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
					"invalid runtimeConfig deviceID \"%s\"", c->rc.device_id);
		/* The runtime's device wins over every configured selector. */
		c->device = c->hwaddr = c->kernelpath = c->pci_bus_id = NULL;
		if (pci_addr_valid(c->rc.device_id))
			c->pci_bus_id = c->rc.device_id;
		else
			c->aux_id = c->rc.device_id;
	}
	if (c->device && !*c->device)
		c->device = NULL;
	if (c->hwaddr && !*c->hwaddr)
		c->hwaddr = NULL;
	if (c->kernelpath && !*c->kernelpath)
		c->kernelpath = NULL;
	if (c->pci_bus_id && !*c->pci_bus_id)
		c->pci_bus_id = NULL;
	if (!c->device && !c->hwaddr && !c->kernelpath && !c->pci_bus_id && !c->aux_id)
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"specify either \"device\", \"hwaddr\", \"kernelpath\" or "
				"\"pciBusID\"");
	if (c->device && !nu_ifname_valid(c->device))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"device\" \"%s\": not an interface name", c->device);
	if (c->hwaddr && (nu_mac_parse(c->hwaddr, c->mac) < 0))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid \"hwaddr\" \"%s\"",
				c->hwaddr);
	if (c->kernelpath &&
	    (strncmp(c->kernelpath, "/sys/devices/", 13) || strstr(c->kernelpath, "/../") ||
	     strlen(c->kernelpath) >= PATH_MAX / 2))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG,
				"invalid \"kernelpath\" \"%s\": must be an absolute path under "
				"/sys/devices/",
				c->kernelpath);
	if (c->pci_bus_id && !component_ok(c->pci_bus_id))
		return cni_fail(e, -EINVAL, CNI_ERR_INVALID_CONFIG, "invalid \"pciBusID\" \"%s\"",
				c->pci_bus_id);
	return 0;
}

/* ---- finding the device ---------------------------------------------------------------------- */

/* The first entry of directory @dir (sorted, so the choice is stable). -ENOENT if none. */
static int first_entry(const char *dir, char out[NU_IFNAMSIZ])
{
	struct dirent **v = NULL;
	int n, r = -ENOENT;

	n = scandir(dir, &v, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (r == -ENOENT && v[i]->d_name[0] != '.' && nu_ifname_valid(v[i]->d_name)) {
			snprintf(out, NU_IFNAMSIZ, "%s", v[i]->d_name);
			r = 0;
		}
		free(v[i]);
	}
	free(v);
	return r;
}

/* PCI: <dev>/net, or a virtio function's <dev>/virtio*\/net. */
static int pci_netdev(const char *id, char out[NU_IFNAMSIZ])
{
	char dir[PATH_MAX], sub[NU_IFNAMSIZ * 2];
	struct dirent **v = NULL;
	int n, r;

	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/%s/net", sysfs_root(), id);
	r = first_entry(dir, out);
	if (r != -ENOENT)
		return r;
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/%s", sysfs_root(), id);
	n = scandir(dir, &v, NULL, alphasort);
	if (n < 0)
		return -errno;
	r = -ENOENT;
	for (int i = 0; i < n; i++) {
		if (r == -ENOENT && !strncmp(v[i]->d_name, "virtio", 6)) {
			snprintf(sub, sizeof(sub), "%s", v[i]->d_name);
			snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/%s/%s/net", sysfs_root(),
				 id, sub);
			r = first_entry(dir, out);
		}
		free(v[i]);
	}
	free(v);
	return r;
}

/* True when the PCI device is bound to a userspace (DPDK) driver: it has no netdev to move. */
static bool pci_is_dpdk(const char *id)
{
	static const char *const drivers[] = {"vfio-pci", "uio_pci_generic", "igb_uio"};
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/driver", sysfs_root(), id);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (!strcmp(base, drivers[i]))
			return true;
	return false;
}

static bool conf_is_dpdk(const struct hostdev_conf *c)
{
	return c->pci_bus_id && pci_is_dpdk(c->pci_bus_id);
}

/* The host link the configuration selects, in the netns of @host. */
static int find_device(const struct hostdev_conf *c, struct nu_nl *host, struct nu_link_info *li,
		       struct cni_err *e)
{
	char name[NU_IFNAMSIZ], dir[PATH_MAX];
	const char *what;
	int r;

	if (c->device) {
		r = nu_link_get(host, c->device, 0, li, e);
		return r < 0 ? cni_wrap(e, r, "failed to find host device") : 0;
	}
	if (c->hwaddr) {
		r = nu_link_by_mac(host, c->mac, 6, e);
		if (r < 0)
			return cni_fail(e, r, 0, "failed to find host device with hwaddr %s",
					c->hwaddr);
		return nu_link_get(host, NULL, r, li, e);
	}
	if (c->kernelpath) {
		snprintf(dir, sizeof(dir), "%s%s/net", sysfs_root(), c->kernelpath);
		r = first_entry(dir, name);
		what = c->kernelpath;
	} else if (c->pci_bus_id) {
		r = pci_netdev(c->pci_bus_id, name);
		what = c->pci_bus_id;
	} else {
		snprintf(dir, sizeof(dir), "%s/sys/bus/auxiliary/devices/%s/net", sysfs_root(),
			 c->aux_id);
		r = first_entry(dir, name);
		what = c->aux_id;
	}
	if (r < 0)
		return cni_fail(e, r, 0, "failed to find a network device of \"%s\": %s", what,
				strerror(-r));
	r = nu_link_get(host, name, 0, li, e);
	return r < 0 ? cni_wrap(e, r, "failed to find host device of \"%s\"", what) : 0;
}

/* ---- moving ---------------------------------------------------------------------------------- */

/*
 * The name the device has between the two netns: "cnihd" and a hash of container id and
 * CNI_IFNAME, so that a DEL after a kill finds it in either netns.
 */
static const char *temp_name(const struct cni_ctx *ctx, char out[NU_IFNAMSIZ])
{
	char hex[11];

	cni_sha512_hex(hex, 10, ctx->env.container_id ? ctx->env.container_id : "", "\n",
		       ctx->env.ifname ? ctx->env.ifname : "", NULL);
	snprintf(out, NU_IFNAMSIZ, "cnihd%s", hex);
	return out;
}

/*
 * Move link @ifindex (named @name) of @src to @dst_fd, renamed @new_name with alias @new_alias,
 * up when @up. The way: down, alias set, renamed @tmp in @src, moved, renamed @new_name in @dst,
 * alias cleared there when @new_alias is "" (so that it names the device host-device's all the
 * way), up. No throwaway netns that only this process holds: killed at any point, the device is in
 * @src or in @dst, under its name, @tmp or @new_name. On failure it goes back into @src as it was
 * (name @name, alias @old_alias, up when @was_up) and the first error is returned.
 */
static int move_link(struct nu_nl *src, int src_fd, int ifindex, const char *name,
		     const char *old_alias, bool was_up, struct nu_nl *dst, int dst_fd,
		     const char *tmp, const char *new_name, const char *new_alias, bool up,
		     struct cni_err *e)
{
	int r, i;

	/* A link must be down to be renamed; the move itself does not need it. */
	r = nu_link_set_down(src, ifindex, e);
	if (r < 0)
		goto restore_up;
	/* The alias names the device ours (DEL's test) until it is under its final name. */
	r = *new_alias ? nu_link_alias_set(src, ifindex, new_alias, e) : 0;
	if (r < 0)
		goto undo_src;
	r = nu_link_rename(src, ifindex, tmp, e);
	if (r < 0)
		goto undo_src;
	r = nu_link_set_netns(src, ifindex, dst_fd, e);
	if (r < 0)
		goto undo_src;
	i = nu_link_index(dst, tmp);
	if (i < 0) {
		r = cni_fail(e, i, 0, "\"%s\" not found after the move", tmp);
		i = nu_link_index(dst, tmp); /* once more: not another link named @new_name */
		goto undo_dst;
	}
	r = nu_link_rename(dst, i, new_name, e);
	if (r >= 0 && !*new_alias)
		r = nu_link_alias_set(dst, i, "", e);
	if (r >= 0 && up)
		r = nu_link_set_up(dst, i, e);
	if (r >= 0)
		return 0;
undo_dst:
	/* In @dst as link @i, under either name; not found, it never left @src. */
	if (i > 0) {
		nu_link_set_down(dst, i, NULL);
		nu_link_rename(dst, i, tmp, NULL);
		nu_link_set_netns(dst, i, src_fd, NULL);
	}
undo_src:
	i = nu_link_index(src, tmp);
	if (i <= 0)
		i = ifindex;
	nu_link_rename(src, i, name, NULL);
	nu_link_alias_set(src, i, old_alias, NULL);
	ifindex = i;
restore_up:
	if (was_up)
		nu_link_set_up(src, ifindex, NULL);
	return r;
}

/* ---- ADD ------------------------------------------------------------------------------------- */

static int hostdev_add(struct cni_ctx *ctx, struct cni_result *res, struct cni_err *e)
{
	const struct hostdev_conf *c = ctx->conf;
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1, host_fd = -1;
	struct nu_link_info li, cl;
	char mac[3 * 32], alias[256], tmp[NU_IFNAMSIZ];
	struct cni_result *ipam = NULL;
	const char *hname;
	int r, ifindex;

	r = nu_netns_open(ctx->env.netns, &netns_fd, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to open netns \"%s\"", ctx->env.netns);
	if (conf_is_dpdk(c)) {
		/* No netdev to move: the interface is reported, IPAM runs for the runtime's use. */
		cni_result_add_iface(res, ctx->env.ifname, NULL, ctx->env.netns);
		if (ctx->net.ipam_type) {
			r = cni_ipam_add(ctx, &ipam, e);
			if (r < 0)
				return r;
			cni_result_add_ips(res, ipam, 0);
		}
		res->dns = ctx->net.dns;
		return 0;
	}
	r = nu_nl_open(&cont, netns_fd, e);
	if (r < 0)
		return r;
	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	r = find_device(c, host, &li, e);
	if (r < 0)
		return r;
	hname = li.name;
	/* Never clobber an interface the container already has under that name. */
	if (nu_link_index(cont, ctx->env.ifname) > 0)
		return cni_fail(e, -EEXIST, 0, "container already has an interface named \"%s\"",
				ctx->env.ifname);
	host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_fd < 0)
		return cni_fail(e, -errno, 0, "failed to open the host netns: %s", strerror(errno));
	r = nu_link_alias_get(host, li.ifindex, alias, sizeof(alias), e);
	if (r < 0)
		return r;
	/* a killed ADD left it under a temporary name: its alias holds the host name */
	if (!strncmp(li.name, "cnihd", 5) && nu_ifname_valid(alias))
		hname = alias;
	r = move_link(host, host_fd, li.ifindex, li.name, alias, li.flags & IFF_UP, cont, netns_fd,
		      temp_name(ctx, tmp), ctx->env.ifname, hname, true, e);
	if (r < 0)
		return cni_wrap(e, r, "failed to move \"%s\" into the container as \"%s\"",
				li.name, ctx->env.ifname);
	ifindex = nu_link_index(cont, ctx->env.ifname);
	r = nu_link_get(cont, NULL, ifindex, &cl, e);
	if (r < 0)
		goto move_back;
	cni_result_add_iface(res, ctx->env.ifname, nu_mac_str(cl.mac, cl.mac_len, mac),
			     ctx->env.netns);
	if (ctx->net.ipam_type) {
		r = cni_ipam_add_ips(ctx, res, 0, NULL, e);
		if (r < 0)
			goto move_back;
		r = nu_iface_configure(cont, netns_fd, ctx->env.ifname, res, e);
		if (r < 0)
			goto move_back;
	}
	res->dns = ctx->net.dns;
	return 0;

move_back:
	move_link(cont, netns_fd, ifindex, ctx->env.ifname, hname, true, host, host_fd, tmp,
		  hname, alias, li.flags & IFF_UP, NULL);
	return r;
}

/* ---- DEL, CHECK, STATUS, GC ------------------------------------------------------------------ */

/*
 * A host-device's link in the netns of @nl named @name: its ifindex, its alias (the host name)
 * in @alias; 0 when there is none or it is not ours (no alias: not moved by host-device).
 */
static int ours(struct nu_nl *nl, const char *name, char alias[256], struct cni_err *e)
{
	int i = nu_link_index(nl, name), r;

	if (i == -ENODEV)
		return 0;
	if (i < 0)
		return cni_fail(e, i, 0, "failed to look up \"%s\"", name);
	r = nu_link_alias_get(nl, i, alias, 256, e);
	if (r < 0)
		return r;
	return *alias && nu_ifname_valid(alias) ? i : 0;
}

/*
 * A device an ADD or DEL killed half-way left in the host under the temporary name: its name
 * back, its alias cleared, down.
 */
static int rename_back(struct nu_nl *host, const char *tmp, struct cni_err *e)
{
	char alias[256];
	int i, r;

	i = ours(host, tmp, alias, e);
	if (i <= 0)
		return i;
	r = nu_link_rename(host, i, alias, e);
	if (r == -EEXIST)
		return cni_fail(e, r, 0, "failed to rename \"%s\" back to \"%s\": the name is taken",
				tmp, alias);
	if (r < 0)
		return cni_wrap(e, r, "failed to rename \"%s\" back to \"%s\"", tmp, alias);
	return nu_link_alias_set(host, i, "", e);
}

/*
 * The device back to the host under its alias, down (as the reference leaves it). Found in the
 * container under CNI_IFNAME or the temporary name, or in the host under the temporary name.
 */
static int give_back(struct cni_ctx *ctx, struct cni_err *e)
{
	_nu_nl_cleanup_ struct nu_nl *host = NULL, *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1, host_fd = -1;
	char alias[256], tmp[NU_IFNAMSIZ];
	const char *name = ctx->env.ifname;
	int r, ifindex = 0;

	temp_name(ctx, tmp);
	r = nu_nl_open(&host, -1, e);
	if (r < 0)
		return r;
	r = nu_netns_open(ctx->env.netns, &netns_fd, e);
	if (r == -ENOENT)
		return rename_back(host, tmp, e); /* a physical device went back with the netns */
	if (r < 0)
		return r;
	r = nu_nl_open(&cont, netns_fd, e);
	if (r < 0)
		return r;
	ifindex = ours(cont, name, alias, e);
	if (!ifindex) {
		name = tmp;
		ifindex = ours(cont, name, alias, e);
	}
	if (ifindex < 0)
		return ifindex;
	if (!ifindex) /* never added, already given back, gone, or not ours; or left in the host */
		return rename_back(host, tmp, e);
	host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_fd < 0)
		return cni_fail(e, -errno, 0, "failed to open the host netns: %s", strerror(errno));
	/* No look-before-leap on the host name: the move itself is the test, and its undo puts
	 * the device back into the container, as it was. */
	r = move_link(cont, netns_fd, ifindex, name, alias, name == ctx->env.ifname, host, host_fd,
		      tmp, alias, "", false, e);
	if (r == -EEXIST)
		return cni_fail(e, r, 0,
				"failed to move \"%s\" back to the host: the name \"%s\" is taken "
				"there",
				name, alias);
	return r < 0 ? cni_wrap(e, r, "failed to move \"%s\" back to the host as \"%s\"", name,
				alias)
		     : 0;
}

static int hostdev_del(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct hostdev_conf *c = ctx->conf;
	struct cni_err one = {0};
	int r = 0, first = 0;

	if (ctx->net.ipam_type)
		cni_err_keep_first(cni_ipam_del(ctx, &one), &one, &first, e);
	if (ctx->env.netns && *ctx->env.netns && !conf_is_dpdk(c)) {
		r = give_back(ctx, &one);
		cni_err_keep_first(r, &one, &first, e);
	}
	return first;
}

static int hostdev_check(struct cni_ctx *ctx, struct cni_err *e)
{
	const struct hostdev_conf *c = ctx->conf;
	const struct cni_result *prev = ctx->net.prev;
	_nu_nl_cleanup_ struct nu_nl *cont = NULL;
	_nu_fd_cleanup_ int netns_fd = -1;
	const struct cni_iface *cont_if = NULL;
	struct nu_link_info cl;
	int r;

	if (ctx->net.ipam_type) {
		r = cni_ipam_check(ctx, e);
		if (r < 0)
			return r;
	}
	if (conf_is_dpdk(c))
		return 0;
	r = cni_prev_iface(ctx, &cont_if, e);
	if (r < 0)
		return r;
	r = nu_iface_check_open(ctx->env.netns, ctx->env.ifname, &netns_fd, &cont, &cl, e);
	if (r < 0)
		return r;
	r = nu_iface_check_mac(cont_if->mac, &cl, ctx->env.ifname, e);
	if (r < 0)
		return r;
	return nu_iface_check_result(cont, ctx->env.ifname, prev, e);
}

const struct cni_plugin cni_main_plugin = {
	.name = "host-device",
	CNI_CONF(fields, struct hostdev_conf),
	.conf_validate = hostdev_validate,
	CNI_VERBS(hostdev),
	.flags = CNI_PLUGIN_IPAM_VERBS,
	CNI_INPROC_IPAM,
};
