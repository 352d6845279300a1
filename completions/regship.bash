# bash completion for regship (regship completion bash)
_regship() {
	local line=${COMP_LINE:0:COMP_POINT} cur i
	local -a words cands
	# whole words as the user wrote them (COMP_WORDS splits oci:DIR at the colon)
	read -ra words <<<"$line"
	[[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
	cur=${words[${#words[@]} - 1]}
	local IFS=$'\n'
	cands=($(command regship __complete "${words[@]:1}" 2>/dev/null))
	# bash replaces only the part after the last word-break character (':' by default)
	if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		local keep=${cur%"${cur##*:}"}
		for i in "${!cands[@]}"; do
			cands[i]=${cands[i]#"$keep"}
		done
	fi
	COMPREPLY=("${cands[@]}")
	# a transport, a directory or "repository:" is continued, not ended with a space
	for i in "${COMPREPLY[@]}"; do
		if [[ $i == *[:/] ]]; then
			compopt -o nospace 2>/dev/null
			break
		fi
	done
}
complete -F _regship regship
