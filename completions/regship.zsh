#compdef regship
# zsh completion for regship (regship completion zsh)
_regship() {
	local -a cands cont ends
	# the words unquoted (my\ dir is "my dir"); the candidates quoted by compadd
	cands=("${(@f)$(command regship __complete "${(@Q)words[2,CURRENT]}" 2>/dev/null)}")
	cont=(${(M)cands:#*[:/]})
	ends=(${cands:#*[:/]})
	(( ${#cont} )) && compadd -S '' -- "${cont[@]}"
	(( ${#ends} )) && compadd -- "${ends[@]}"
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_regship "$@"
else
	compdef _regship regship
fi
