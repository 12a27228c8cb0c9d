# bash completion for haywire(1)
# Commands and options are those of haywire --help (tests/mandrift.py
# checks both against the man page).

_haywire()
{
	local cur prev words cword
	_init_completion || return

	local commands='info ps maps translate read diff bench camera refresh detail
		ping events top exporter'
	local opts='--mem --source --qmp --qmp-timeout --btf --system-map --json
		--via-guest --timeout -o --off --runs --no-hint --index-gpa --help
		--version -d -b -n --containers --follow --from --vm --glob --config
		--listen --top --scrapes --domain --libvirt-uri --libvirt
		--libvirt-all'

	case $prev in
	--mem | --btf | --system-map | -o | --config)
		_filedir
		return
		;;
	--qmp)
		_filedir
		return
		;;
	--source)
		COMPREPLY=($(compgen -W 'beacon memfile qmp' -- "$cur"))
		return
		;;
	--domain | --libvirt)
		# running domains, when virsh can list them
		COMPREPLY=($(compgen -W "$(virsh list --name 2>/dev/null)" -- "$cur"))
		return
		;;
	--qmp-timeout | --timeout | --runs | --index-gpa | -d | -n | --from | \
		--vm | --glob | --listen | --top | --scrapes | --libvirt-uri)
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	# The command is the first word that is neither an option nor an
	# option's value.
	local i have=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--mem | --source | --qmp | --qmp-timeout | --btf | --system-map | \
			--timeout | -o | --runs | --index-gpa | -d | -n | --from | \
			--vm | --glob | --config | --listen | --top | --scrapes | \
			--domain | --libvirt-uri | --libvirt)
			((i++))
			;;
		-*) ;;
		*)
			have=${words[i]}
			break
			;;
		esac
	done
	[[ -z $have ]] && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
} &&
	complete -F _haywire haywire
