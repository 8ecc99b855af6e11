# fish completion for ecsh. Installed by the Debian package as
# /usr/share/fish/vendor_completions.d/ecsh.fish, and printed by `ecsh completion fish` (save it
# as ~/.config/fish/completions/ecsh.fish).
# Subcommands and options complete offline. After -c/-s/-t/-n (--cluster, --service, --task,
# --container) the names come from the API through `ecsh __complete`, with the --profile,
# --region, --endpoint-url, --ca-bundle and -c/-s/-t already on the line; it answers within a second, caches
# for half a minute (~/.cache/ecsh), and prints nothing at all when it cannot ask.

# The subcommand path on the line so far: "", "exec", "docker", "docker exec", ...
function __ecsh_path
    set -l tokens (commandline -opc)
    set -l path
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        switch $w
            case --
                break
            case --profile --region --endpoint-url --output --ca-bundle
                set i (math $i + 1)
            case '-*'
            case '*'
                if test (count $path) -eq 0; or test "$path" = docker
                    set -a path $w
                else
                    break
                end
        end
        set i (math $i + 1)
    end
    echo "$path"
end

function __ecsh_is
    contains -- (__ecsh_path) $argv
end

# Names of KIND (clusters, services, tasks, containers) from `ecsh __complete`.
function __ecsh_live
    set -l kind $argv[1]
    set -l tokens (commandline -opc)
    set -l globals
    set -l target
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        set -l next
        if test $i -lt (count $tokens)
            set next $tokens[(math $i + 1)]
        end
        switch $w
            case --
                break
            case --profile --region --endpoint-url --ca-bundle
                set -a globals $w $next
                set i (math $i + 1)
            case '--profile=*' '--region=*' '--endpoint-url=*' '--ca-bundle=*' --no-verify-ssl
                set -a globals $w
            case -c --cluster
                test $kind != clusters; and set -a target -c $next
                set i (math $i + 1)
            case '--cluster=*'
                test $kind != clusters; and set -a target -c (string split -m1 = -- $w)[2]
            case -s --service
                contains $kind tasks containers; and set -a target -s $next
                set i (math $i + 1)
            case '--service=*'
                contains $kind tasks containers; and set -a target -s (string split -m1 = -- $w)[2]
            case -t --task
                test $kind = containers; and set -a target -t $next
                set i (math $i + 1)
            case '--task=*'
                test $kind = containers; and set -a target -t (string split -m1 = -- $w)[2]
        end
        set i (math $i + 1)
    end
    command $tokens[1] $globals __complete $kind $target 2>/dev/null </dev/null
end

function __ecsh_profiles
    for f in (set -q AWS_CONFIG_FILE; and echo $AWS_CONFIG_FILE; or echo ~/.aws/config) \
            (set -q AWS_SHARED_CREDENTIALS_FILE; and echo $AWS_SHARED_CREDENTIALS_FILE; or echo ~/.aws/credentials)
        test -r $f; or continue
        string replace -rf '^\s*\[\s*(?:profile\s+)?([^\]\s]+)\s*\]' '$1' <$f
    end
end

set -l __ecsh_regions us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-south-1 \
    ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-northeast-1 \
    ap-northeast-2 ap-northeast-3 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-west-1 \
    eu-west-2 eu-west-3 eu-south-1 eu-south-2 eu-north-1 il-central-1 me-central-1 me-south-1 \
    sa-east-1 us-gov-east-1 us-gov-west-1 cn-north-1 cn-northwest-1

complete -c ecsh -f

# Global options (accepted after the subcommand too).
complete -c ecsh -n '__ecsh_is ""' -s h -l help -d 'Print help and exit'
complete -c ecsh -n '__ecsh_is ""' -l version -d 'Print the version and exit'
complete -c ecsh -l profile -x -a '(__ecsh_profiles)' -d 'Named profile from the AWS config files'
complete -c ecsh -l region -x -a "$__ecsh_regions" -d 'AWS region'
complete -c ecsh -l endpoint-url -x -d 'Send every API call to this URL'
complete -c ecsh -l output -x -a 'text json' -d 'Output format'
complete -c ecsh -l no-verify-ssl -d 'Do not verify TLS certificates'
complete -c ecsh -l ca-bundle -r -F -d 'PEM file of the CAs to trust for TLS'
complete -c ecsh -l debug -d 'Log requests and responses (secrets redacted)'
complete -c ecsh -l no-color -d 'No colours'
complete -c ecsh -l no-diagnose -d 'Do not run doctor when ECS Exec refuses a session'
complete -c ecsh -l all-regions -d 'ls: every region enabled for the account'
complete -c ecsh -s y -l yes -d 'Assume yes to every question'

# Subcommands.
complete -c ecsh -n '__ecsh_is ""' -a whoami -d 'Show the caller identity and where the credentials came from'
complete -c ecsh -n '__ecsh_is ""' -a demo -d 'Replay the ECS Exec runbook against an embedded sandbox'
complete -c ecsh -n '__ecsh_is ""' -a doctor -d 'Check every prerequisite of ECS Exec, and say how to fix it'
complete -c ecsh -n '__ecsh_is ""' -a enable -d 'Fix what blocks ECS Exec, then verify'
complete -c ecsh -n '__ecsh_is ""' -a exec -d 'Open a shell in a container, or run a command there'
complete -c ecsh -n '__ecsh_is ""' -a run -d 'Run a command on every running task of a service or cluster at once'
complete -c ecsh -n '__ecsh_is ""' -a ls -d 'List clusters, services, tasks or containers'
complete -c ecsh -n '__ecsh_is ""' -a logs -d "Show the containers' CloudWatch logs, merged in time order"
complete -c ecsh -n '__ecsh_is ""' -a why -d 'Why a task stopped or a service cannot keep its tasks'
complete -c ecsh -n '__ecsh_is ""' -a forward -d 'Forward local ports to a container port or a host the task reaches'
complete -c ecsh -n '__ecsh_is ""' -a cp -d 'Copy files and directories between this machine and a container'
complete -c ecsh -n '__ecsh_is ""' -a docker -d 'The Docker Engine on this machine (ps, exec)'
complete -c ecsh -n '__ecsh_is ""' -a completion -d 'Print the completion script for bash, zsh or fish'

complete -c ecsh -n 'not __ecsh_is ""' -s h -l help -d 'Print help and exit'

# Target selection: names from the API.
set -l __ecsh_targets '__ecsh_is doctor enable exec forward cp ls logs why'
complete -c ecsh -n $__ecsh_targets -s c -l cluster -x -a '(__ecsh_live clusters)' -d 'Cluster name or ARN'
complete -c ecsh -n $__ecsh_targets -s s -l service -x -a '(__ecsh_live services)' -d 'Service name'
complete -c ecsh -n $__ecsh_targets -s t -l task -x -a '(__ecsh_live tasks)' -d 'Task ID or ARN'
complete -c ecsh -n $__ecsh_targets -s n -l container -x -a '(__ecsh_live containers)' -d 'Container name'

complete -c ecsh -n '__ecsh_is run' -s c -l cluster -x -a '(__ecsh_live clusters)' -d 'Cluster name or ARN'
complete -c ecsh -n '__ecsh_is run' -s s -l service -x -a '(__ecsh_live services)' -d 'Service name (repeatable)'
complete -c ecsh -n '__ecsh_is run' -s n -l container -x -a '(__ecsh_live containers)' -d 'Container name'
complete -c ecsh -n '__ecsh_is run' -l family -x -d 'Only tasks of this task definition family'
complete -c ecsh -n '__ecsh_is run' -l all-clusters -d 'Every cluster of the region'
complete -c ecsh -n '__ecsh_is run' -l max-parallel -x -d 'Sessions at once'
complete -c ecsh -n '__ecsh_is run' -l timeout -x -d 'Seconds each task may take (0: no limit)'
complete -c ecsh -n '__ecsh_is run' -l group -d "Print each task's output all together when it finishes"
complete -c ecsh -n '__ecsh_is run' -s u -l user -x -d 'Run as this user or UID in each container, not root'

complete -c ecsh -n '__ecsh_is demo' -s i -l interactive -d 'End with an interactive shell in the container'
complete -c ecsh -n '__ecsh_is demo' -l no-pacing -d 'Let the sandbox agent send as fast as it can'

complete -c ecsh -n '__ecsh_is enable' -l dry-run -d 'Show the plan and stop'
complete -c ecsh -n '__ecsh_is enable' -l timeout -x -d 'Seconds to wait for the rollout'

complete -c ecsh -n '__ecsh_is ls' -a 'clusters services tasks containers'
complete -c ecsh -n '__ecsh_is ls' -l stopped -d 'Recently stopped tasks with stop code, exit codes and reason'

complete -c ecsh -n '__ecsh_is logs' -s f -l follow -d 'Keep printing new lines'
complete -c ecsh -n '__ecsh_is logs' -l since -x -d 'From this time: 10m, 2h, 1d or ISO 8601'
complete -c ecsh -n '__ecsh_is logs' -l until -x -d 'Up to this time: 10m, 2h, 1d or ISO 8601'
complete -c ecsh -n '__ecsh_is logs' -l grep -x -d 'Only lines with this text'
complete -c ecsh -n '__ecsh_is logs' -l stopped -d "Include the service's recently stopped tasks"
complete -c ecsh -n '__ecsh_is why' -l lines -x -d 'How many of the last log lines to show'

complete -c ecsh -n '__ecsh_is forward' -s L -l local -x -d '[BIND:]LOCAL:PORT, [BIND:]LOCAL:HOST:PORT or /path.sock:PORT'
complete -c ecsh -n '__ecsh_is forward' -l keepalive -x -d 'Seconds between keep-alives while a connection is idle'
complete -c ecsh -n '__ecsh_is cp' -s r -l recursive -d 'Copy directories (needs tar in the image)'
complete -c ecsh -n '__ecsh_is cp' -l no-clobber -d 'Never replace an existing destination'
complete -c ecsh -n '__ecsh_is cp' -s q -l quiet -d 'No progress line and no summary'
complete -c ecsh -n '__ecsh_is cp' -l via -x -a 'ecs ec2' -d 'How to get in'
complete -c ecsh -n '__ecsh_is cp' -s u -l user -x -d 'Read and write as this user or UID in the container'
complete -c ecsh -n '__ecsh_is doctor' -l probe -d 'Then open a real session and run true, timing each phase'
complete -c ecsh -n '__ecsh_is doctor' -s u -l user -x -d 'With --probe: run true as this user'
complete -c ecsh -n '__ecsh_is doctor' -l all -d 'Every service and standalone task, one row each, blocked first'
complete -c ecsh -n '__ecsh_is exec' -l via -x -a 'auto ecs ec2' -d 'How to get in'
complete -c ecsh -n '__ecsh_is exec' -l ssh -d 'Method 2: reach the instance with ssh, not SSM'
complete -c ecsh -n '__ecsh_is exec' -l ssh-user -x -d 'Method 2: ssh login name'
complete -c ecsh -n '__ecsh_is exec' -s i -l identity -r -F -d 'Method 2: ssh identity file'
complete -c ecsh -n '__ecsh_is exec' -l ssh-option -x -d 'Method 2: an ssh -o option'
complete -c ecsh -n '__ecsh_is exec' -l address -x -a 'auto private public' -d 'Method 2 over ssh: which address'
complete -c ecsh -n '__ecsh_is exec' -l container-id -x -d 'Method 2: the Docker container ID'
complete -c ecsh -n '__ecsh_is exec' -l no-escapes -d 'Do not treat ~. and ~? as escapes'
complete -c ecsh -n '__ecsh_is exec' -s u -l user -x -d 'Run as this user or UID in the container, not root'

complete -c ecsh -n '__ecsh_is docker' -a ps -d 'List containers (running ones unless -a)'
complete -c ecsh -n '__ecsh_is docker' -a exec -d 'Run a command in a running container'
complete -c ecsh -n '__ecsh_is "docker ps"' -s a -l all -d 'All containers, not only running ones'
complete -c ecsh -n '__ecsh_is "docker ps"' -s f -l filter -x -d 'KEY=VALUE filter'
complete -c ecsh -n '__ecsh_is "docker ps"' -l format -x -a 'table json' -d 'Output format'
complete -c ecsh -n '__ecsh_is "docker exec"' -s i -l interactive -d 'Forward stdin to the command'
complete -c ecsh -n '__ecsh_is "docker exec"' -s t -l tty -d 'Give the command a terminal'
complete -c ecsh -n '__ecsh_is "docker exec"' -s u -l user -x -d 'USER[:GROUP] or UID[:GID] to run as'
complete -c ecsh -n '__ecsh_is "docker exec"' -s w -l workdir -x -d 'Working directory in the container'
complete -c ecsh -n '__ecsh_is "docker exec"' -s e -l env -x -d 'K=V to set'

complete -c ecsh -n '__ecsh_is completion' -a 'bash zsh fish'
