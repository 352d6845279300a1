# fish completion for regship (regship completion fish)
function __regship_complete
    set -l tokens (commandline -opc) (commandline -ct)
    command regship __complete $tokens[2..-1] 2>/dev/null
end
complete -c regship -f -a '(__regship_complete)'
