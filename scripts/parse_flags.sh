# The command-line flags of the project's bash scripts, declared in one line per script; sourced,
# not run.
#   parse_flags HELP_LINES SPEC... -- "$@"
# SPEC --num=num declares a flag with a value ("--num 5" sets num=5); --quick=quick=1 a switch
# ("--quick" sets quick=1). -h/--help prints the script's lines HELP_LINES (e.g. 2,13): its
# header comment. An unknown flag or a flag without its value is an error that names it (exit 2).
parse_flags() {
  local help="$1" script
  script=$(basename "$0")
  shift
  local -A value_of=() switch_of=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    local flag="${1%%=*}" target="${1#*=}"
    if [[ "$target" == *=* ]]; then switch_of[$flag]="$target"; else value_of[$flag]="$target"; fi
    shift
  done
  [ $# -gt 0 ] && shift  # the --
  while [ $# -gt 0 ]; do
    if [ "$1" = -h ] || [ "$1" = --help ]; then
      sed -n "${help}p" "$0"
      exit 0
    elif [ -n "$1" ] && [ -n "${value_of[$1]+set}" ]; then
      [ $# -ge 2 ] || { echo "$script: $1 needs a value (see --help)" >&2; exit 2; }
      printf -v "${value_of[$1]}" '%s' "$2"
      shift 2
    elif [ -n "$1" ] && [ -n "${switch_of[$1]+set}" ]; then
      printf -v "${switch_of[$1]%%=*}" '%s' "${switch_of[$1]#*=}"
      shift
    else
      echo "$script: unknown argument '$1' (see --help)" >&2
      exit 2
    fi
  done
}
