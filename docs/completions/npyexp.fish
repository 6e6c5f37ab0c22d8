function __npyexp_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __npyexp_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __npyexp_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __npyexp_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __npyexp_parse_tokens -S
    set -l unparsed_tokens (__npyexp_tokens -pc)
    switch $unparsed_tokens[1]
    case 'npyexp'
        __npyexp_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'exp'
            __npyexp_parse_subcommand -r 1 'o/output-dir=' 'c/stdout' 'j/jobs=' 'l/level=' 'strategy=' 'gzip' 'no-gzip' 'dtype=' 'f/force' 'q/quiet' 'v/verbose' 'fail-fast' 'manifest=' 'sums=' 'promote=' 'files-from=' '0/null' 'shard=' 'shard-count=' 'progress' 'no-progress' 'dry-run' 'json' 'stdin-name=' 'version' 'h/help'
        case 'backward'
            __npyexp_parse_subcommand -r 1 'o/output-dir=' 'c/stdout' 'j/jobs=' 'l/level=' 'strategy=' 'gzip' 'no-gzip' 'dtype=' 'f/force' 'q/quiet' 'v/verbose' 'fail-fast' 'manifest=' 'sums=' 'version' 'h/help'
        case 'verify'
            __npyexp_parse_subcommand -r 1 'j/jobs=' 'q/quiet' 'status' 'version' 'h/help'
        case 'inspect'
            __npyexp_parse_subcommand -r 1 'json' 'version' 'h/help'
        case 'help'
            __npyexp_parse_subcommand -r 1 'version'
        end
    end
end

function __npyexp_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __npyexp_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __npyexp_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __npyexp_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__npyexp_tokens -p)
    if test -z "$(__npyexp_tokens -t)"
        set -l index (count (__npyexp_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'npyexp' -f
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp" version' -l 'version' -d 'Show the version.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp" -eq 1' -fa 'exp' -d 'Compute exp(x) for each input (the default command).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp" -eq 1' -fa 'backward' -d 'Gradient of exp: grad * result for each RESULT GRAD pair (grad * conj(result) for complex).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp" -eq 1' -fa 'verify' -d 'Check outputs against their .sha256 sidecars, gzip CRCs and NPY structure.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp" -eq 1' -fa 'inspect' -d 'Show the NPY header and gzip framing of .npy / .npy.gz files, and the members of .npz archives.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp exp" -ge 1' -F
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" o output-dir' -s 'o' -l 'output-dir' -d 'Write outputs below DIR, keeping paths relative to each input\'s base.' -rfa '(__npyexp_complete_directories)'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" c stdout' -s 'c' -l 'stdout' -d 'Write the single result to standard output, no sidecar; the bytes are what the output file would hold (gzip for a gzip input unless --no-gzip).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" j jobs' -s 'j' -l 'jobs' -d 'Threads to use, 1-1024 (default: all cores); -j4 works too.' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" l level' -s 'l' -l 'level' -d 'gzip compression level 0-9 (default: 6); -l9 and gzip\'s -1 .. -9 work too.' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" strategy' -l 'strategy' -d 'deflate strategy: auto picks the smallest output on a sample (faster on near-ties).' -rfka 'auto default filtered huffman rle'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" gzip' -l 'gzip' -d 'gzip the outputs, or write plain .npy (default: the input\'s container).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" no-gzip' -l 'no-gzip' -d 'gzip the outputs, or write plain .npy (default: the input\'s container).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" dtype' -l 'dtype' -d 'Output dtype for real inputs: float16, float32 or float64 (default: keep floats, ints -> float32).' -rfka 'float16 float32 float64'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" f force' -s 'f' -l 'force' -d 'Redo outputs that are already complete.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" q quiet' -s 'q' -l 'quiet' -d 'Print nothing but errors.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" v verbose' -s 'v' -l 'verbose' -d 'Print a line per input.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" fail-fast' -l 'fail-fast' -d 'Stop at the first failed input.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" manifest' -l 'manifest' -d 'Write a JSON Lines manifest of the run to FILE (one record per input, then a summary).' -rF
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" sums' -l 'sums' -d 'Write a SHA256SUMS file of the outputs to FILE (paths relative to its directory).' -rF
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" promote' -l 'promote' -d 'Output dtype of integer and bool inputs without --dtype: torch gives float32, numpy float16 for 8-bit, float32 for 16-bit and float64 for wider integers.' -rfka 'torch numpy'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" files-from' -l 'files-from' -d 'Read more inputs from FILE, one per line (- for standard input).' -rF
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" 0 null' -s '0' -l 'null' -d 'Names in --files-from are separated by NUL (find -print0).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" shard' -l 'shard' -d 'Process only shard K of N (1-based), chosen by a hash of each input\'s relative path; auto reads Slurm (array or srun step), Kubernetes or AWS Batch variables.' -rfka 'auto'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" shard-count' -l 'shard-count' -d 'Number of shards for --shard auto: the completions of a Kubernetes Indexed Job; under Slurm, array task ids are then 0-based shard numbers (rerun a subset with --array=3,11).' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" progress' -l 'progress' -d 'Show a progress line on stderr (default: only when stderr is a terminal).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" no-progress' -l 'no-progress' -d 'Show a progress line on stderr (default: only when stderr is a terminal).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" dry-run plan' -l 'dry-run' -l 'plan' -d 'Print what would be done to each input (its output, shard, do or skip) and a summary; write nothing.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" json' -l 'json' -d 'With --dry-run: JSON Lines (one object per input, then a summary object).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" stdin-name' -l 'stdin-name' -d 'The output\'s file name for standard input under --output-dir (required there).' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" version' -l 'version' -d 'Show the version.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp exp" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" o output-dir' -s 'o' -l 'output-dir' -d 'Write outputs below DIR, keeping paths relative to each input\'s base.' -rfa '(__npyexp_complete_directories)'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" c stdout' -s 'c' -l 'stdout' -d 'Write the single result to standard output, no sidecar; the bytes are what the output file would hold (gzip for a gzip input unless --no-gzip).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" j jobs' -s 'j' -l 'jobs' -d 'Threads to use, 1-1024 (default: all cores); -j4 works too.' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" l level' -s 'l' -l 'level' -d 'gzip compression level 0-9 (default: 6); -l9 and gzip\'s -1 .. -9 work too.' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" strategy' -l 'strategy' -d 'deflate strategy: auto picks the smallest output on a sample (faster on near-ties).' -rfka 'auto default filtered huffman rle'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" gzip' -l 'gzip' -d 'gzip the outputs, or write plain .npy (default: the input\'s container).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" no-gzip' -l 'no-gzip' -d 'gzip the outputs, or write plain .npy (default: the input\'s container).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" dtype' -l 'dtype' -d 'Output dtype for real inputs: float16, float32 or float64 (default: keep floats, ints -> float32).' -rfka 'float16 float32 float64'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" f force' -s 'f' -l 'force' -d 'Redo outputs that are already complete.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" q quiet' -s 'q' -l 'quiet' -d 'Print nothing but errors.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" v verbose' -s 'v' -l 'verbose' -d 'Print a line per input.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" fail-fast' -l 'fail-fast' -d 'Stop at the first failed input.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" manifest' -l 'manifest' -d 'Write a JSON Lines manifest of the run to FILE (one record per input, then a summary).' -rF
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" sums' -l 'sums' -d 'Write a SHA256SUMS file of the outputs to FILE (paths relative to its directory).' -rF
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" version' -l 'version' -d 'Show the version.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp backward" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp verify" -ge 1' -F
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp verify" j jobs' -s 'j' -l 'jobs' -d 'Files checked at the same time, 1-1024 (default: all cores).' -rfka ''
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp verify" q quiet' -s 'q' -l 'quiet' -d 'Print no OK lines, only faults.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp verify" status' -l 'status' -d 'Print nothing; the exit status tells (0 all intact).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp verify" version' -l 'version' -d 'Show the version.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_positional "npyexp inspect" -ge 1' -F
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp inspect" json' -l 'json' -d 'One JSON object per file and line (JSON Lines).'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp inspect" version' -l 'version' -d 'Show the version.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp inspect" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'npyexp' -n '__npyexp_should_offer_completions_for_flags_or_options "npyexp help" version' -l 'version' -d 'Show the version.'
