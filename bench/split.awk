# SPDX-License-Identifier: Apache-2.0
# Where a cnic plugin's time goes, from `perf script -F comm,pid,ip,sym,dso` of a cnibench run
# recorded with `perf record -g -e cpu-clock -c PERIOD_NS` (bench/run.sh with BENCH_PROFILE=1).
# Input variables: scenario, period_ms (one sample), bin (cnic's binary directory), plugins
# (space-separated comm names to report). A process is cnic's when one of its user-space samples
# is in a file under @bin or in ld.so (the reference's Go binaries are static: no ld.so); the
# processes of one plugin alternate ADD, DEL in the order they first appear (cnibench's cycle).
# Prints one TSV row per scenario, plugin, operation and category: ms per operation.
#
# Categories: user-space samples by the function they hit (glibc's CPU feature and cache probing,
# the rest of ld.so, libc, the plugin with its libraries); kernel samples by the first of these
# frames on their stack: the conntrack table walk of a netns's first NAT user, nf_tables,
# rtnetlink, /proc/sys, exec/memory/exit, anything else.
BEGIN {
	ncat = split("k_ct k_nft k_rtnl k_sysctl k_proc k_other u_cpuid u_ld u_libc u_own", cats, " ")
	nplug = split(plugins, pl, " ")
	for (i = 1; i <= nplug; i++)
		want[pl[i]] = 1
}

function flush(   cat, i, f) {
	if (comm == "" || !(comm in want) || nst == 0) {
		nst = 0
		return
	}
	if (!(pid in seen)) {
		seen[pid] = ++order
		pcomm[pid] = comm
	}
	leafdso = dso[1]
	# kernel addresses, the kernel image's and its modules' ([nf_tables], [bridge], ...) alike
	if (ip[1] ~ /^ffff/) {
		cat = "k_other"
		for (i = 1; i <= nst; i++) {
			f = sym[i]
			if (f ~ /^(nf_ct_netns_do_get|nf_ct_iterate_cleanup|nf_ct_netns_get)$/) { cat = "k_ct"; break }
			if (f ~ /^(nfnetlink_rcv_batch|nfnetlink_rcv)$/) { cat = "k_nft"; break }
			if (f ~ /^(rtnetlink_rcv_msg|rtnl_newlink|rtnl_dellink|veth_newlink)$/) { cat = "k_rtnl"; break }
			if (f ~ /^proc_sys_/) { cat = "k_sysctl"; break }
			if (f ~ /^(__x64_sys_execve|load_elf_binary|asm_exc_page_fault|exc_page_fault|do_exit|do_group_exit|exit_mmap|__x64_sys_mmap|__x64_sys_munmap|__x64_sys_mprotect|__x64_sys_brk)$/) { cat = "k_proc"; break }
		}
	} else {
		if (leafdso ~ /\/usr\/lib\/cni\//)
			ref[pid] = 1
		if (index(leafdso, bin "/") == 1 || leafdso ~ /ld-linux/)
			ours[pid] = 1
		if (sym[1] ~ /^(init_cpu_features|update_active|handle_intel|intel_check_word|get_common_indices|get_common_cache_info|dl_init_cacheinfo|handle_amd|handle_zhaoxin|cpu_features_init)/)
			cat = "u_cpuid"
		else if (leafdso ~ /ld-linux/)
			cat = "u_ld"
		else if (leafdso ~ /\/libc\.so/)
			cat = "u_libc"
		else
			cat = "u_own"
	}
	cnt[pid, cat]++
	nst = 0
}

/^[^ \t]/ {
	flush()
	comm = $1
	pid = $2
	next
}
/^[ \t]+[0-9a-f]+ / {
	nst++
	ip[nst] = $1
	sym[nst] = $2
	dso[nst] = $NF
	gsub(/[()]/, "", dso[nst])
	next
}
END {
	flush()
	# order pids by first appearance, per plugin; cnic's only
	for (p in seen)
		byorder[seen[p]] = p
	for (o = 1; o <= order; o++) {
		p = byorder[o]
		if (!(p in ours) || (p in ref))
			continue
		c = pcomm[p]
		k = ++nth[c]
		op = (k % 2 == 1) ? "ADD" : "DEL"
		nops[c, op]++
		for (i = 1; i <= ncat; i++)
			sum[c, op, cats[i]] += cnt[p, cats[i]]
	}
	for (c in nth)
		if (nth[c] % 2)
			printf "split.awk: %s: %d processes seen, not ADD/DEL pairs: the labels may be off\n",
				c, nth[c] > "/dev/stderr"
	for (i = 1; i <= nplug; i++)
		for (j = 0; j < 2; j++) {
			c = pl[i]
			op = j ? "DEL" : "ADD"
			if (!nops[c, op])
				continue
			for (k = 1; k <= ncat; k++)
				printf "%s\t%s\t%s\t%d\t%s\t%.3f\n", scenario, c, op, nops[c, op], cats[k],
					sum[c, op, cats[k]] * period_ms / nops[c, op]
		}
}
