# SPDX-License-Identifier: Apache-2.0
# vm_progress FD (bash, sourced by test_kernel_features.sh): copies the VM batch's output from
# stdin to stdout unchanged and writes progress lines to FD:
# - at each file's time line ("# vm/<file>: <S> s", written inside the VM when the file ends),
#   "  vm/<file>  N passed  N failed  N skipped  (S s in the VM; M min so far)";
# - when no line was written for CNIC_VM_HEARTBEAT seconds (default 120) while a file runs,
#   "  vm/<file>  N passed ... so far, still running (M min so far)".
# Never "ok -"-shaped, so tests/run.sh (which counts the log, not FD) counts nothing twice.
vm_progress() {
	local fd=$1 line n cur="" pending="" rc t0=$SECONDS last=$SECONDS beat=${CNIC_VM_HEARTBEAT:-120}
	local -A P F S
	while :; do
		IFS= read -r -t 5 line
		rc=$?
		if [ "$rc" -gt 128 ]; then
			# Timed out: keep the partial line, and say the file is still running if quiet long.
			pending+=$line
			if [ -n "$cur" ] && [ $((SECONDS - last)) -ge "$beat" ]; then
				printf '  %-26s %4d passed %3d failed %3d skipped  so far, still running (%d min so far)\n' \
					"vm/$cur" "${P[$cur]:-0}" "${F[$cur]:-0}" "${S[$cur]:-0}" \
					$(((SECONDS - t0) / 60)) >&"$fd"
				last=$SECONDS
			fi
			continue
		fi
		line=$pending$line
		pending=""
		[ "$rc" = 0 ] || [ -n "$line" ] || break
		printf '%s\n' "$line"
		case $line in
		"ok - vm/"*:*) n=${line#ok - vm/} && n=${n%%:*} && cur=$n && P[$n]=$((${P[$n]:-0} + 1)) ;;
		"not ok - vm/"*:*) n=${line#not ok - vm/} && n=${n%%:*} && cur=$n && F[$n]=$((${F[$n]:-0} + 1)) ;;
		"skip - vm/"*:*) n=${line#skip - vm/} && n=${n%%:*} && cur=$n && S[$n]=$((${S[$n]:-0} + 1)) ;;
		"# vm/"*": "*" s")
			n=${line#\# vm/} && n=${n%%:*}
			printf '  %-26s %4d passed %3d failed %3d skipped  (%s in the VM; %d min so far)\n' \
				"vm/$n" "${P[$n]:-0}" "${F[$n]:-0}" "${S[$n]:-0}" "${line##*: }" \
				$(((SECONDS - t0) / 60)) >&"$fd"
			cur="" last=$SECONDS
			;;
		esac
		[ "$rc" = 0 ] || break
	done
}
