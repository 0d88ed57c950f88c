/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a binary of this suite says about itself: the one --version text of every plugin, daemon
 * and tool (libc alone, so cmd/ may include it). The release, commit and build date come from
 * build/gen/version.h, which the Makefile writes (the date is reproducible: SOURCE_DATE_EPOCH or
 * the commit's date, never the clock).
 */
#ifndef CNI_ABOUT_H
#define CNI_ABOUT_H

/*
 * cni_print_version() - on stdout, two lines:
 *   "<prog> (cnic) <release>, commit <commit>, built <date>"
 *   "CNI protocol versions supported: <every spec version from @min_version on>"
 * (@min_version: an enum cni_version, 0 for all of them). Returns the exit status: 0, or 1 when
 * stdout could not be written (the error said on stderr).
 */
int cni_print_version(const char *prog, int min_version);

#endif
