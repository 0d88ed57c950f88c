// SPDX-License-Identifier: Apache-2.0
/*
 * dnsport: what the dnsname plugin's port 53 rewrite adds to an ADD (issue 16, budget 0.3 ms):
 * N times, a fresh netns (unshare, outside the clock) and nu_nft_dnsport_add() in it, the call
 * timed (wall and CPU of this process). Prints one JSON line: {"n", "wall_ms": {median, p10,
 * p90}, "cpu_ms": median}. Each netns goes when the next one replaces it. Built by bench/run.sh
 * against dnsname's nft.o, build/libnft.a and build/libnetutil.a.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../plugins/meta/dnsname/dnsport.h"

static double ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	double *wall = calloc((size_t)n, sizeof(double)), *cpu = calloc((size_t)n, sizeof(double));

	if (n < 10 || !wall || !cpu)
		return 2;
	for (int i = 0; i < n; i++) {
		struct cni_err e = {0};
		double t, c;

		if (unshare(CLONE_NEWNET)) {
			perror("dnsport: unshare");
			return 1;
		}
		c = ms(CLOCK_PROCESS_CPUTIME_ID);
		t = ms(CLOCK_MONOTONIC);
		if (nu_nft_dnsport_add("127.0.0.11", 61053, "0123456789abcdef-0123456789abcdef", &e)) {
			fprintf(stderr, "dnsport: %s\n", e.msg);
			return 1;
		}
		wall[i] = ms(CLOCK_MONOTONIC) - t;
		cpu[i] = ms(CLOCK_PROCESS_CPUTIME_ID) - c;
	}
	qsort(wall, (size_t)n, sizeof(double), cmp);
	qsort(cpu, (size_t)n, sizeof(double), cmp);
	printf("{\"n\":%d,\"wall_ms\":{\"median\":%.3f,\"p10\":%.3f,\"p90\":%.3f},\"cpu_ms\":%.3f}\n", n,
	       wall[n / 2], wall[n / 10], wall[n * 9 / 10], cpu[n / 2]);
	free(wall);
	free(cpu);
	return 0;
}
