#compdef regship
# zsh completion for regship (regship completion zsh)
_regship() {
	local -a cands cont ends
	cands=("${(@f)$(command regship __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
	cont=(${(M)cands:#*[:/]})
	ends=(${cands:#*[:/]})
	(( ${#cont} )) && compadd -Q -S '' -- "${cont[@]}"
	(( ${#ends} )) && compadd -Q -- "${ends[@]}"
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_regship "$@"
else
	compdef _regship regship
fi
