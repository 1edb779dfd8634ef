package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

const completionHelp = `Usage: borgrun completion bash|zsh|fish

Prints the completion script for the shell. The script asks borgrun itself
("borgrun __complete WORDS...") for the candidates: the commands and their
flags, the values of -p/--property, --timer-property, --path-property and
--socket-property (the property names of the manager's systemd version), --hardening, --relax, --priority,
--inhibit and --on-calendar, and the names of the jobs the manager has now
for remove, export and now --name. A manager that does not answer within a
second is no error: its names are just not offered.

make install puts the scripts where each shell's packaging looks for them:
share/bash-completion/completions/borgrun,
share/zsh/vendor-completions/_borgrun and
share/fish/vendor_completions.d/borgrun.fish.

Examples:
  source <(borgrun completion bash)
  borgrun completion zsh >~/.zfunc/_borgrun
  borgrun completion fish | source
`

// completeTimeout bounds the questions a completion asks the manager.
const completeTimeout = time.Second

// Directives the completion scripts understand, each alone on the first
// line of __complete's output: complete file names, or directory names.
const (
	completeFiles = ":file"
	completeDirs  = ":dir"
)

func (e *env) completion(args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(e.stdout, completionHelp)
		return nil
	}
	if len(args) != 1 {
		return usagef("completion: say which shell: bash, zsh or fish")
	}
	switch args[0] {
	case "bash":
		io.WriteString(e.stdout, bashCompletion)
	case "zsh":
		io.WriteString(e.stdout, zshCompletion)
	case "fish":
		io.WriteString(e.stdout, fishCompletion)
	default:
		return usagef("completion: unknown shell %q (want bash, zsh or fish)", args[0])
	}
	return nil
}

// complete prints the candidates for the last of args, the word being
// completed, given the words before it (args are what follows "borgrun"
// on the command line). Candidates are printed one a line, only those
// that begin with the word; or a directive (completeFiles, completeDirs).
// It never fails: what it cannot tell is not offered.
func (e *env) complete(args []string) {
	if len(args) == 0 {
		args = []string{""}
	}
	cur := args[len(args)-1]
	c := &completer{e: e}
	for _, cand := range c.candidates(args[:len(args)-1], cur) {
		if strings.HasPrefix(cand, ":") || strings.HasPrefix(cand, cur) {
			fmt.Fprintln(e.stdout, cand)
		}
	}
	if c.conn != nil {
		c.conn.Close()
	}
}

// completer holds one completion's connection to the manager, dialled at
// most once and only when a candidate needs it.
type completer struct {
	e      *env
	user   bool
	scope  bool // run --scope: -p takes scope properties
	dialed bool
	conn   *transient.Conn
}

// candidates returns the candidates for cur after the words before.
func (c *completer) candidates(before []string, cur string) []string {
	if len(before) == 0 {
		var out []string
		for _, cmd := range commands() {
			out = append(out, cmd.name)
		}
		return append(out, "--version", "--help")
	}
	name, words := before[0], before[1:]
	switch name {
	case "help":
		if len(words) > 0 {
			return nil
		}
		var out []string
		for _, cmd := range commands() {
			if cmd.name != "help" {
				out = append(out, cmd.name)
			}
		}
		return out
	case "completion":
		if len(words) > 0 {
			return nil
		}
		return []string{"bash", "zsh", "fish"}
	}
	opts := commandOptions(name)
	if opts == nil && !jobArgCommands[name] {
		return nil
	}
	// Walk the words typed so far: which option waits for its value, and
	// whether the options have ended.
	var pending *option
	var jobs []string
	ended := false
	for _, w := range words {
		switch {
		case pending != nil:
			pending = nil
		case ended:
		case w == "--":
			ended = true
		case strings.HasPrefix(w, "--"):
			n, _, inline := strings.Cut(w[2:], "=")
			if o := opts.long(n); o != nil {
				c.see(o)
				if o.arg && !inline {
					pending = o
				}
			}
		case strings.HasPrefix(w, "-") && len(w) > 1:
			for i := 1; i < len(w); i++ {
				o := opts.short(w[i])
				if o == nil {
					break
				}
				c.see(o)
				if o.arg {
					if i == len(w)-1 {
						pending = o
					}
					break
				}
			}
		case jobArgCommands[name]:
			jobs = append(jobs, w)
		default:
			// COMMAND: what follows is its arguments.
			ended = true
		}
	}
	switch {
	case pending != nil:
		return c.values(name, pending, "", cur)
	case ended && jobArgCommands[name]:
		return c.jobs(jobs)
	case ended:
		return []string{completeFiles}
	case strings.HasPrefix(cur, "--"):
		if n, v, ok := strings.Cut(cur[2:], "="); ok {
			if o := opts.long(n); o != nil && o.arg {
				return c.values(name, o, "--"+n+"=", v)
			}
			return nil
		}
		var out []string
		for _, o := range opts {
			out = append(out, "--"+o.long)
		}
		return out
	case strings.HasPrefix(cur, "-"):
		if len(cur) > 2 {
			if o := opts.short(cur[1]); o != nil && o.arg {
				return c.values(name, o, cur[:2], cur[2:])
			}
			return nil
		}
		var out []string
		for _, o := range opts {
			if o.short != 0 {
				out = append(out, "-"+string(o.short))
			}
			out = append(out, "--"+o.long)
		}
		return out
	case jobArgCommands[name]:
		return c.jobs(jobs)
	case name == "schedule" || name == "now" || name == "run":
		// COMMAND.
		return []string{completeFiles}
	default:
		return nil
	}
}

// see notes what an option already given changes for the candidates.
func (c *completer) see(o *option) {
	switch o.long {
	case "user":
		c.user = true
	case "system":
		c.user = false
	case "scope":
		c.scope = true
	}
}

// values returns the candidates for the value of option o of command cmd,
// each prefixed with prefix (as in --hardening=).
func (c *completer) values(cmd string, o *option, prefix, v string) []string {
	var vals []string
	switch o.long {
	case "property":
		t := props.Service
		if c.scope {
			t = props.Scope
		}
		vals = c.propertyNames(t, v)
	case "timer-property":
		vals = c.propertyNames(props.Timer, v)
	case "path-property":
		vals = c.propertyNames(props.Path, v)
	case "socket-property":
		vals = c.propertyNames(props.Socket, v)
	case "hardening":
		vals = []string{"default", "strict", "off"}
	case "priority":
		vals = []string{"background", "idle", "normal"}
	case "inhibit":
		vals = []string{"block", "no"}
	case "relax":
		// A comma-separated list: complete its last element.
		done, _ := splitLast(v, ",")
		given := strings.Split(done, ",")
		for _, r := range []string{"known-hosts", "wx", "snapshots"} {
			if !slices.Contains(given, r) {
				vals = append(vals, joinNonEmpty(done, r))
			}
		}
	case "on-calendar":
		vals = []string{"minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually", "yearly"}
	case "service-type":
		vals = []string{"simple", "exec", "forking", "oneshot", "dbus", "notify", "idle"}
	case "expand-environment":
		vals = []string{"yes", "no"}
	case "json":
		vals = []string{"pretty", "short", "off"}
	case "job-mode":
		vals = jobModes
	case "root-directory":
		return []string{completeDirs}
	case "name":
		if cmd == "now" {
			vals = c.jobs(nil)
		}
	case "host":
		vals = sshHosts(v)
	case "machine":
		vals = machines()
	case "dir", "writable", "working-directory":
		return []string{completeDirs}
	case "passphrase-file", "passphrase-credential":
		return []string{completeFiles}
	}
	out := make([]string, len(vals))
	for i, s := range vals {
		out[i] = prefix + s
	}
	return out
}

// splitLast splits s after the last sep: "a,b,c" is "a,b" and "c".
func splitLast(s, sep string) (before, last string) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+len(sep):]
}

func joinNonEmpty(list, elem string) string {
	if list == "" {
		return elem
	}
	return list + "," + elem
}

// propertyNames returns the names (with "=") of the properties of unit
// type t that the manager's systemd accepts, or none once a name has been
// typed in full (v holds "=").
func (c *completer) propertyNames(t props.UnitType, v string) []string {
	if strings.Contains(v, "=") {
		return nil
	}
	ver := props.NewestVersion
	if conn := c.dial(); conn != nil {
		ctx, cancel := context.WithTimeout(c.e.ctx, completeTimeout)
		defer cancel()
		if got, err := conn.Version(ctx); err == nil {
			ver = min(max(got, props.OldestVersion), props.NewestVersion)
		}
	}
	names := props.NamesFor(ver, t)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "="
	}
	return out
}

// jobs returns the names of the jobs the manager has, but those in given:
// one ListUnitsByPatterns call. No manager, no names.
func (c *completer) jobs(given []string) []string {
	conn := c.dial()
	if conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.e.ctx, completeTimeout)
	defer cancel()
	units, err := conn.UnitsMatching(ctx, backup.UnitPrefix+"*.timer")
	if err != nil {
		return nil
	}
	var out []string
	for _, u := range units {
		n := strings.TrimSuffix(strings.TrimPrefix(u.Name, backup.UnitPrefix), ".timer")
		if backup.ValidName(n) == nil && !slices.Contains(given, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// dial connects to the manager (the user's after --user) once, quickly,
// never asking for a password; nil if it does not answer.
func (c *completer) dial() *transient.Conn {
	if c.dialed {
		return c.conn
	}
	c.dialed = true
	d := c.e.dial
	if c.user {
		d.Manager = transient.User
	}
	d.AskPassword = false
	d.Timeout = completeTimeout
	ctx, cancel := context.WithTimeout(c.e.ctx, completeTimeout)
	defer cancel()
	conn, err := transient.Dial(ctx, d)
	if err != nil {
		return nil
	}
	c.conn = conn
	return conn
}

// option is an option of a command, as completion sees it.
type option struct {
	long  string
	short byte
	arg   bool // takes a value
}

type options []option

func (opts options) long(name string) *option {
	for i := range opts {
		if opts[i].long == name {
			return &opts[i]
		}
	}
	return nil
}

func (opts options) short(s byte) *option {
	for i := range opts {
		if opts[i].short == s && s != 0 {
			return &opts[i]
		}
	}
	return nil
}

// commandOptions returns the options of the command called name: its
// flag set's, or systemd-run's for run; nil for an unknown command.
func commandOptions(name string) options {
	if name == "run" {
		var out options
		for _, o := range runOptions {
			if !o.unsupported {
				out = append(out, option{long: o.long, short: o.short, arg: o.arg})
			}
		}
		return out
	}
	cmd, ok := lookupCommand(name)
	if !ok || cmd.flags == nil {
		return nil
	}
	var out options
	cmd.flags().VisitAll(func(f *pflag.Flag) {
		o := option{long: f.Name, arg: f.NoOptDefVal == ""}
		if f.Shorthand != "" {
			o.short = f.Shorthand[0]
		}
		out = append(out, o)
	})
	out = append(out, option{long: "help", short: 'h'})
	return out
}

// The completion scripts. Each hands the words before the cursor and the
// word at it to "borgrun __complete" and offers what it prints; a
// candidate that ends in "=" (a property name) gets no space after it.

const bashCompletion = `# bash completion for borgrun                             -*- shell-script -*-
# Generated by "borgrun completion bash"; the candidates come from
# "borgrun __complete WORDS...".

_borgrun()
{
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n =: cur words cword
    else
        cur=${COMP_WORDS[COMP_CWORD]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local IFS=$'\n'
    local -a out
    out=($("${words[0]}" __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null))
    COMPREPLY=()
    case ${out[0]-} in
    :file)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    :dir)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        return
        ;;
    esac
    # Readline replaces only what follows the last = or : of the word.
    local pre=
    if [[ $cur == *[=:]* ]]; then
        pre=${cur%"${cur##*[=:]}"}
    fi
    local c
    for c in "${out[@]}"; do
        [[ $c == *= ]] && compopt -o nospace 2>/dev/null
        COMPREPLY+=("${c#"$pre"}")
    done
}
complete -F _borgrun borgrun
`

const zshCompletion = `#compdef borgrun
# zsh completion for borgrun. Generated by "borgrun completion zsh"; the
# candidates come from "borgrun __complete WORDS...".

_borgrun() {
  local -a out nospace plain
  local c
  out=("${(@f)$(${words[1]} __complete "${(@Q)words[2,CURRENT]}" 2>/dev/null)}")
  case $out[1] in
    (:file) _files; return ;;
    (:dir) _files -/; return ;;
  esac
  for c in $out; do
    [[ -n $c ]] || continue
    if [[ $c == *= ]]; then nospace+=("$c"); else plain+=("$c"); fi
  done
  (( $#nospace )) && compadd -S '' -- "${nospace[@]}"
  (( $#plain )) && compadd -- "${plain[@]}"
  return 0
}

if [[ $funcstack[1] == _borgrun ]]; then
  _borgrun "$@"
else
  compdef _borgrun borgrun
fi
`

const fishCompletion = `# fish completion for borgrun. Generated by "borgrun completion fish"; the
# candidates come from "borgrun __complete WORDS...".

function __borgrun_complete
    set -l words (commandline -opc)
    set -l prog $words[1]
    set -e words[1]
    set -l cur (commandline -ct)
    set -l out ($prog __complete $words "$cur" 2>/dev/null)
    switch "$out[1]"
        case :file
            __fish_complete_path "$cur"
        case :dir
            __fish_complete_directories "$cur"
        case '*'
            printf '%s\n' $out
    end
end

complete -c borgrun -f -a '(__borgrun_complete)'
`

// sshHosts returns the host names ssh knows, for -H: the Host patterns
// without wildcards of ~/.ssh/config, and the names of ~/.ssh/known_hosts
// and /etc/ssh/ssh_known_hosts that are not hashed (a [name]:port entry
// as name:port, -H's own form), each after the USER@ v already has. The
// files are read as bash-completion's _known_hosts reads them; a missing
// one gives nothing.
func sshHosts(v string) []string {
	user, _ := splitLast(v, "@")
	if user != "" {
		user += "@"
	}
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if h == "" || seen[h] || strings.ContainsAny(h, "*?!/") {
			return
		}
		seen[h] = true
		out = append(out, user+h)
	}
	known := []string{"/etc/ssh/ssh_known_hosts"}
	if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
		known = append(known, filepath.Join(home, ".ssh", "known_hosts"))
		b, _ := os.ReadFile(filepath.Join(home, ".ssh", "config"))
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(strings.ReplaceAll(line, "=", " "))
			if len(f) > 1 && strings.EqualFold(f[0], "Host") {
				for _, h := range f[1:] {
					add(h)
				}
			}
		}
	}
	for _, file := range known {
		b, _ := os.ReadFile(file)
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && strings.HasPrefix(f[0], "@") { // @cert-authority, @revoked
				f = f[1:]
			}
			if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "|") {
				continue
			}
			for _, h := range strings.Split(f[0], ",") {
				if rest, ok := strings.CutPrefix(h, "["); ok {
					name, port, _ := strings.Cut(rest, "]:")
					h = name + ":" + port
				}
				add(h)
			}
		}
	}
	slices.Sort(out)
	return out
}

// machines returns the names of the local machines machined has
// registered, for -M: the entries of /run/systemd/machines, where machined
// keeps a file for each (and "unit:" links, left out).
func machines() []string {
	entries, _ := os.ReadDir("/run/systemd/machines")
	var out []string
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, "unit:") && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	return out
}
