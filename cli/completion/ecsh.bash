# bash completion for ecsh                                              -*- shell-script -*-
#
# Installed by the Debian package as /usr/share/bash-completion/completions/ecsh, and printed by
# `ecsh completion bash` (for ~/.bashrc: source <(ecsh completion bash)).
# Subcommands and options complete offline. After -c/-s/-t/-n (--cluster, --service, --task,
# --container) the names come from the API through `ecsh __complete`, with the --profile,
# --region, --endpoint-url, --ca-bundle and -c/-s/-t already on the line; it answers within a second, caches
# for half a minute (~/.cache/ecsh), and prints nothing at all when it cannot ask.

_ecsh_regions="us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-south-1
ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-northeast-1
ap-northeast-2 ap-northeast-3 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-west-1
eu-west-2 eu-west-3 eu-south-1 eu-south-2 eu-north-1 il-central-1 me-central-1 me-south-1
sa-east-1 us-gov-east-1 us-gov-west-1 cn-north-1 cn-northwest-1"

# The options of a (sub)command, by the path of subcommand names.
_ecsh_options() {
  local target="-c --cluster -s --service -t --task -n --container"
  case $1 in
    "") echo "-h --help --version --profile --region --endpoint-url --output --no-verify-ssl
              --ca-bundle --debug --no-color --no-diagnose -y --yes --all-regions" ;;
    whoami) echo "-h --help" ;;
    demo) echo "-h --help -i --interactive --no-pacing" ;;
    doctor) echo "-h --help $target --probe -u --user --all" ;;
    ls) echo "-h --help $target --stopped" ;;
    logs) echo "-h --help $target -f --follow --since --until --grep --stopped" ;;
    why) echo "-h --help $target --lines" ;;
    enable) echo "-h --help $target --dry-run --timeout" ;;
    exec) echo "-h --help $target --via --ssh --ssh-user -i --identity --ssh-option --address
                --container-id --no-escapes -u --user" ;;
    forward) echo "-h --help $target -L --local --keepalive" ;;
    cp) echo "-h --help $target -r --recursive --no-clobber -q --quiet --via -u --user" ;;
    run) echo "-h --help -c --cluster -s --service -n --container --family --all-clusters
               --max-parallel --timeout --group -u --user" ;;
    docker) echo "-h --help" ;;
    "docker ps") echo "-h --help -a --all -f --filter --format" ;;
    "docker exec") echo "-h --help -i --interactive -t --tty -u --user -w --workdir -e --env" ;;
    completion) echo "-h --help" ;;
  esac
}

# Whether option $2 of (sub)command $1 takes a value.
_ecsh_takes_value() {
  case $2 in
    --profile | --region | --endpoint-url | --output | --ca-bundle) return 0 ;;
  esac
  case "$1:$2" in
    doctor:-[cstn] | enable:-[cstn] | exec:-[cstn] | ls:-[cstn] | forward:-[cstnL]) return 0 ;;
    logs:-[cstn] | why:-[cstn]) return 0 ;;
    logs:--cluster | logs:--service | logs:--task | logs:--container) return 0 ;;
    why:--cluster | why:--service | why:--task | why:--container) return 0 ;;
    logs:--since | logs:--until | logs:--grep | why:--lines) return 0 ;;
    forward:--cluster | forward:--service | forward:--task | forward:--container) return 0 ;;
    forward:--local | forward:--keepalive) return 0 ;;
    cp:-[cstn] | cp:--cluster | cp:--service | cp:--task | cp:--container | cp:--via) return 0 ;;
    doctor:--cluster | doctor:--service | doctor:--task | doctor:--container) return 0 ;;
    enable:--cluster | enable:--service | enable:--task | enable:--container) return 0 ;;
    exec:--cluster | exec:--service | exec:--task | exec:--container) return 0 ;;
    ls:--cluster | ls:--service | ls:--task | ls:--container) return 0 ;;
    enable:--timeout) return 0 ;;
    run:-[csn] | run:--cluster | run:--service | run:--container) return 0 ;;
    run:--family | run:--max-parallel | run:--timeout) return 0 ;;
    exec:--via | exec:--ssh-user | exec:-i | exec:--identity | exec:--ssh-option) return 0 ;;
    exec:--address | exec:--container-id) return 0 ;;
    exec:-u | exec:--user | run:-u | run:--user | cp:-u | cp:--user) return 0 ;;
    "docker ps:-f" | "docker ps:--filter" | "docker ps:--format") return 0 ;;
    "docker exec:-u" | "docker exec:--user" | "docker exec:-w" | "docker exec:--workdir") return 0 ;;
    "docker exec:-e" | "docker exec:--env") return 0 ;;
  esac
  return 1
}

# Profile names from the AWS config and credentials files.
_ecsh_profiles() {
  local f line re='^[[:space:]]*\[[[:space:]]*(profile[[:space:]]+)?([^][:space:]]+)[[:space:]]*\]'
  for f in "${AWS_CONFIG_FILE:-$HOME/.aws/config}" \
    "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}"; do
    [[ -r $f ]] || continue
    while IFS= read -r line; do
      [[ $line =~ $re ]] && echo "${BASH_REMATCH[2]}"
    done <"$f"
  done
}

_ecsh() {
  # The words before the cursor, split at blanks only: bash's COMP_WORDS are also split at
  # COMP_WORDBREAKS (':' in an endpoint URL, '=' in --cluster=NAME).
  local line=${COMP_LINE:0:COMP_POINT}
  local -a words=()
  read -ra words <<<"$line"
  [[ ${#words[@]} -eq 0 || $line == *[[:space:]] ]] && words+=("")
  local cword=$((${#words[@]} - 1))
  local cur=${words[cword]} prev=
  ((cword > 0)) && prev=${words[cword - 1]}
  local ecsh=${words[0]}
  [[ $ecsh == "~/"* ]] && ecsh=$HOME/${ecsh#"~/"}

  # What is on the line before the cursor: the subcommand path, the global options to pass on,
  # the target already chosen, how many positionals.
  local path= i=1 w val npos=0 dashdash= cluster= service= task=
  local -a globals=()
  while ((i < cword)); do
    w=${words[i]}
    if [[ $w == -- ]]; then
      dashdash=1
      break
    fi
    if [[ $w == --*=* ]] && _ecsh_takes_value "$path" "${w%%=*}"; then
      val=${w#*=} w=${w%%=*}
      ((i++))
    elif _ecsh_takes_value "$path" "$w"; then
      val=${words[i + 1]}
      ((i += 2))
    else
      case $w in
        --no-verify-ssl) globals+=("$w") ;;
        -*) ;;
        *)
          if [[ -z $path ]]; then
            path=$w
          elif [[ $path == docker ]]; then
            path="docker $w"
          else
            ((npos++))
          fi
          ;;
      esac
      ((i++))
      continue
    fi
    case $w in
      --profile | --region | --endpoint-url | --ca-bundle) globals+=("$w" "$val") ;;
      -c | --cluster) cluster=$val ;;
      -s | --service) service=$val ;;
      -t | --task) task=$val ;;
    esac
  done

  if [[ -n $dashdash ]]; then
    # The command to run in the container: nothing here knows the container's files.
    COMPREPLY=()
    return 0
  fi

  # The value of an option: `-c VALUE` or `--cluster=VALUE` (bash then completes the part
  # after '=', which is a word of its own in COMP_WORDS).
  local opt=$prev
  if [[ $cur == --*=* ]]; then
    opt=${cur%%=*} cur=${cur#*=}
  fi
  if [[ -n $opt ]] && _ecsh_takes_value "$path" "$opt"; then
    local words= kind=
    case $opt in
      --output) words="text json" ;;
      --via) words="auto ecs ec2" ;;
      --address) words="auto private public" ;;
      --format) words="table json" ;;
      --region) words=$_ecsh_regions ;;
      --profile) words=$(_ecsh_profiles) ;;
      -i | --identity | --ca-bundle)
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
        ;;
      -c | --cluster) kind=clusters ;;
      -s | --service) kind=services ;;
      -t | --task) kind=tasks ;;
      -n | --container) kind=containers ;;
    esac
    if [[ -n $kind ]]; then
      local -a target=()
      [[ $kind != clusters && -n $cluster ]] && target+=(-c "$cluster")
      [[ $kind == tasks || $kind == containers ]] && [[ -n $service ]] && target+=(-s "$service")
      [[ $kind == containers && -n $task ]] && target+=(-t "$task")
      words=$("$ecsh" "${globals[@]}" __complete "$kind" "${target[@]}" 2>/dev/null </dev/null)
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return 0
  fi

  if [[ $cur == -* ]]; then
    local opts
    opts="$(_ecsh_options "$path")"
    [[ -n $path ]] && opts+=" --profile --region --endpoint-url --output --no-verify-ssl
                             --ca-bundle --debug --no-color --no-diagnose --yes --all-regions"
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi
  case $path in
    "") COMPREPLY=($(compgen -W "whoami demo doctor enable exec forward cp run ls logs why docker completion" -- "$cur")) ;;
    docker) COMPREPLY=($(compgen -W "ps exec" -- "$cur")) ;;
    ls) ((npos == 0)) && COMPREPLY=($(compgen -W "clusters services tasks containers" -- "$cur")) ;;
    completion) ((npos == 0)) && COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
    exec | run) COMPREPLY=($(compgen -W "-- $(_ecsh_options "$path")" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(_ecsh_options "$path")" -- "$cur")) ;;
  esac
  return 0
}

complete -F _ecsh ecsh
