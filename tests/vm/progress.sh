# SPDX-License-Identifier: Apache-2.0
# vm_progress FD (bash, sourced by test_kernel_features.sh): copies the VM batch's output from
# stdin to stdout unchanged and, at each file's time line ("# vm/<file>: <S> s", written inside
# the VM when the file ends), writes one progress line to FD with that file's counts:
#   "  vm/<file>  N passed  N failed  N skipped  (S s in the VM; M min so far)"
# Never "ok -"-shaped, so tests/run.sh (which counts the log, not FD) counts nothing twice.
vm_progress() {
	local fd=$1 line n t0=$SECONDS
	local -A P F S
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"ok - vm/"*:*) n=${line#ok - vm/} && n=${n%%:*} && P[$n]=$((${P[$n]:-0} + 1)) ;;
		"not ok - vm/"*:*) n=${line#not ok - vm/} && n=${n%%:*} && F[$n]=$((${F[$n]:-0} + 1)) ;;
		"skip - vm/"*:*) n=${line#skip - vm/} && n=${n%%:*} && S[$n]=$((${S[$n]:-0} + 1)) ;;
		"# vm/"*": "*" s")
			n=${line#\# vm/} && n=${n%%:*}
			printf '  %-26s %4d passed %3d failed %3d skipped  (%s in the VM; %d min so far)\n' \
				"vm/$n" "${P[$n]:-0}" "${F[$n]:-0}" "${S[$n]:-0}" "${line##*: }" \
				$(((SECONDS - t0) / 60)) >&"$fd"
			;;
		esac
	done
}
