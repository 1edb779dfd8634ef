package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// borgrun run is a drop-in for the systemd-run of the manager's version
// (its options, 252's and those 254..262 added; services, scopes, and
// timer, path and socket triggers): the same unit names, properties in the
// same order, messages, summary and exit statuses, except that invalid
// input exits 2 with one line naming the bad token, and is never sent to
// the manager. The command line is parsed before connecting as the newest
// version that accepts it, and again once the manager's version is known
// (runOn): an option that version lacks is refused then, before anything
// is sent.

const runHelp = `Usage: borgrun run [OPTIONS...] COMMAND [ARGS...]

Runs COMMAND in a transient service or scope, or on a transient timer,
path or socket unit, exactly as the systemd-run of the manager's version
does: same unit names (before
257 run-u<N> through a bus, run-r<hex> on the manager's private socket;
from 257 run-p<PID>-i<pidfd ID>), same properties, messages, summary and
exit statuses. Invalid input exits 2 and nothing is sent to the manager.

Options:
     --scope                      Run this as scope rather than service
  -u --unit=UNIT                  Run under the specified unit name
  -p --property=NAME=VALUE        Set service or scope unit property
     --description=TEXT           Description for unit
     --slice=SLICE                Run in the specified slice
     --slice-inherit              Inherit the slice
     --no-block                   Do not wait until operation finished
  -r --remain-after-exit          Leave service around until explicitly stopped
     --wait                       Wait until service stopped again
     --send-sighup                Send SIGHUP when terminating
     --service-type=TYPE          Service type
     --uid=USER                   Run as system user
     --gid=GROUP                  Run as system group
     --nice=NICE                  Nice level
     --working-directory=PATH     Set working directory
  -d --same-dir                   Inherit working directory from caller
  -E --setenv=NAME[=VALUE]        Set environment variable
  -t --pty                        Run service on pseudo TTY as STDIN/STDOUT/
                                  STDERR
  -P --pipe                       Pass STDIN/STDOUT/STDERR directly to service
  -q --quiet                      Suppress information messages during runtime
  -G --collect                    Unload unit after it ran, even when failed
  -S --shell                      Invoke a $SHELL interactively
     --user                       Run as user unit
     --system                     Run as system unit (the default)
     --no-ask-password            Do not prompt for password

Path options:
     --path-property=NAME=VALUE   Set path unit property

Socket options:
     --socket-property=NAME=VALUE Set socket unit property

Options of later versions (refused, exit 2, if the manager's systemd-run
lacks them; the version is the first that has the option):
     --expand-environment=BOOL    Control expansion of environment variables
                                  (254)
     --ignore-failure             Ignore the exit status of the invoked
                                  process (256)
     --background=COLOR           Set ANSI color for background (256; the
                                  tint is not reproduced)
     --json=pretty|short|off      Print unit name and invocation id as JSON
                                  (257)
  -T --pty-late                   Just like --pty, but leave TTY access to
                                  agents until unit is started up (258)
     --job-mode=MODE              Specify how to deal with already queued
                                  jobs, when queueing a new job (258)
     --root-directory=PATH        Set root directory (259)
  -R --same-root-dir              Inherit root directory from caller (259)
  -v --verbose                    Show unit logs while executing operation
                                  (261; the local journalctl, as systemd-run)
     --output=MODE                Controls formatting of verbose logs, see
                                  journalctl for valid values (261)
     --no-pager                   Do not start a pager (262)

Timer options:
     --on-active=SECONDS          Run after SECONDS delay
     --on-boot=SECONDS            Run SECONDS after machine was booted up
     --on-startup=SECONDS         Run SECONDS after systemd activation
     --on-unit-active=SECONDS     Run SECONDS after the last activation
     --on-unit-inactive=SECONDS   Run SECONDS after the last deactivation
     --on-calendar=SPEC           Realtime timer
     --on-timezone-change         Run when the timezone changes
     --on-clock-change            Run when the realtime clock jumps
     --timer-property=NAME=VALUE  Set timer unit property

Remote hosts and containers:
  -H --host=[USER@]HOST[:PORT][/MACHINE]
                                  Operate on the system manager of HOST over
                                  ssh, or of container MACHINE on HOST
                                  (repeatable; no --pty/--pipe, no --user)
  -M --machine=CONTAINER          Operate on local container, through
                                  systemd-machined (repeatable; --user with
                                  USER@CONTAINER; --pty/--pipe with one)
     --parallel=N                 With several -H/-M, at most N at once (8)

One -H or -M behaves as systemd-run -H or -M: the same unit, summary and
exit status. With several, each one's lines are printed on stdout prefixed
with "HOST: " (or "CONTAINER: "), in the order they were given; one that
fails (or whose service fails, with --wait) is named on stderr and the exit
status is 1.

Not supported: -C/--capsule (256).
`

// runOption is one systemd-run option, as in its getopt_long table.
type runOption struct {
	long  string
	short byte // 0 if none
	arg   bool // takes an argument
	// unsupported options are recognised (so that abbreviations resolve
	// as in systemd-run) but rejected.
	unsupported bool
	// since is the first systemd-run with the option (0: 252 had it).
	since props.Version
}

// runOptions is the union of the option tables of systemd-run 252 to 262:
// 252's in its order, then each option a later version added, with the
// version that added it. Where NEWS is the only source (versions between
// the suites borgrun is tested on: 253, 255, 256, 258 to 261), the comment
// says so. getoptLong sees only the options of the manager's version.
var runOptions = []runOption{
	{"help", 'h', false, false, 0},
	{"version", 0, false, false, 0},
	{"user", 0, false, false, 0},
	{"system", 0, false, false, 0},
	{"scope", 0, false, false, 0},
	{"unit", 'u', true, false, 0},
	{"description", 0, true, false, 0},
	{"slice", 0, true, false, 0},
	{"slice-inherit", 0, false, false, 0},
	{"remain-after-exit", 'r', false, false, 0},
	{"send-sighup", 0, false, false, 0},
	{"host", 'H', true, false, 0},
	{"machine", 'M', true, false, 0},
	{"service-type", 0, true, false, 0},
	{"wait", 0, false, false, 0},
	{"uid", 0, true, false, 0},
	{"gid", 0, true, false, 0},
	{"nice", 0, true, false, 0},
	{"setenv", 'E', true, false, 0},
	{"property", 'p', true, false, 0},
	{"tty", 't', false, false, 0},
	{"pty", 't', false, false, 0},
	{"pipe", 'P', false, false, 0},
	{"quiet", 'q', false, false, 0},
	{"on-active", 0, true, false, 0},
	{"on-boot", 0, true, false, 0},
	{"on-startup", 0, true, false, 0},
	{"on-unit-active", 0, true, false, 0},
	{"on-unit-inactive", 0, true, false, 0},
	{"on-calendar", 0, true, false, 0},
	{"on-timezone-change", 0, false, false, 0},
	{"on-clock-change", 0, false, false, 0},
	{"timer-property", 0, true, false, 0},
	{"path-property", 0, true, false, 0},
	{"socket-property", 0, true, false, 0},
	{"no-block", 0, false, false, 0},
	{"no-ask-password", 0, false, false, 0},
	{"collect", 'G', false, false, 0},
	{"working-directory", 0, true, false, 0},
	{"same-dir", 'd', false, false, 0},
	{"shell", 'S', false, false, 0},
	// 254's table (NEWS 254).
	{"expand-environment", 0, true, false, props.V254},
	// Not in 254's table, in 257's; NEWS puts all three in 256.
	{"capsule", 'C', true, true, props.V256},
	{"ignore-failure", 0, false, false, props.V256},
	{"background", 0, true, false, props.V256},
	// Not in 256's NEWS, in 257's table and NEWS.
	{"json", 0, true, false, props.V257},
	// In 262's table; NEWS puts --pty-late and --job-mode in 258,
	// --root-directory and -R in 259 and --output ("for -v mode") in
	// 261. NEWS names no version for -v and --no-pager: -v is taken
	// from the first mention (261), --no-pager from 262's table.
	{"pty-late", 'T', false, false, props.V258},
	{"job-mode", 0, true, false, props.V258},
	{"root-directory", 0, true, false, props.V259},
	{"same-root-dir", 'R', false, false, props.V259},
	{"verbose", 'v', false, false, props.V261},
	{"output", 0, true, false, props.V261},
	{"no-pager", 0, false, false, props.V262},
	// borgrun's own: how many -H hosts at once.
	{"parallel", 0, true, false, 0},
}

// optionsOf returns the options systemd-run v knows (and borgrun's own).
func optionsOf(v props.Version) []runOption {
	var out []runOption
	for _, o := range runOptions {
		if o.since <= v {
			out = append(out, o)
		}
	}
	return out
}

// newerOption returns the option that name (a long option, or an
// abbreviation of exactly one) stands for among those newer than v, or nil.
func newerOption(name string, v props.Version) *runOption {
	var found *runOption
	for i := range runOptions {
		o := &runOptions[i]
		if o.since <= v || !strings.HasPrefix(o.long, name) {
			continue
		}
		if o.long == name {
			return o
		}
		if found != nil {
			return nil
		}
		found = o
	}
	return found
}

// parsedOption is one option as given: its table entry and argument.
type parsedOption struct {
	opt *runOption
	arg string
}

// getoptLong splits args as glibc's getopt_long does with systemd-run's
// option string "+hrH:M:E:p:tPqGdSu:": long options may be abbreviated to
// a unique prefix and take their argument after '=' or as the next word,
// short options may be clustered, and parsing stops at "--" or at the
// first word that is not an option. Errors use getopt's wording.
func getoptLong(args []string, v props.Version) (opts []parsedOption, rest []string, err error) {
	table := optionsOf(v)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return opts, args[i+1:], nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, err := lookupLong(table, name, v)
			if err != nil {
				return nil, nil, err
			}
			switch {
			case o.arg && !hasVal:
				if i+1 == len(args) {
					return nil, nil, fmt.Errorf("option '--%s' requires an argument", o.long)
				}
				i++
				val = args[i]
			case !o.arg && hasVal:
				return nil, nil, fmt.Errorf("option '--%s' doesn't allow an argument", o.long)
			}
			opts = append(opts, parsedOption{o, val})
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				o := lookupShort(table, a[j])
				if o == nil {
					if n := lookupShort(runOptions, a[j]); n != nil {
						return nil, nil, newerError(n, v)
					}
					return nil, nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				if !o.arg {
					opts = append(opts, parsedOption{o, ""})
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 == len(args) {
						return nil, nil, fmt.Errorf("option requires an argument -- '%c'", a[j])
					}
					i++
					val = args[i]
				}
				opts = append(opts, parsedOption{o, val})
				break
			}
		default:
			return opts, args[i:], nil
		}
	}
	return opts, nil, nil
}

func lookupLong(table []runOption, name string, v props.Version) (*runOption, error) {
	var matches []*runOption
	for i := range table {
		o := &table[i]
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) {
			matches = append(matches, o)
		}
	}
	if len(matches) == 0 {
		if n := newerOption(name, v); n != nil {
			return nil, newerError(n, v)
		}
		return nil, fmt.Errorf("unrecognized option '--%s'", name)
	}
	// Like getopt_long, prefixes of options that do the same thing (--tty
	// and --pty) are not ambiguous; 262's own parser has no such rule.
	for _, m := range matches[1:] {
		if m.short != matches[0].short || m.short == 0 || m.arg != matches[0].arg || v >= props.V262 {
			var b strings.Builder
			for _, m := range matches {
				fmt.Fprintf(&b, " '--%s'", m.long)
			}
			return nil, fmt.Errorf("option '--%s' is ambiguous; possibilities:%s", name, b.String())
		}
	}
	return matches[0], nil
}

func lookupShort(table []runOption, c byte) *runOption {
	for i := range table {
		if table[i].short == c {
			return &table[i]
		}
	}
	return nil
}

// newerError is the refusal of option o, which systemd-run v lacks.
func newerError(o *runOption, v props.Version) error {
	name := "--" + o.long
	if o.short != 0 {
		name = fmt.Sprintf("-%c/--%s", o.short, o.long)
	}
	return fmt.Errorf("%s needs systemd %d or newer; this manager is %d", name, o.since, v)
}

// runFlags is a systemd-run command line, parsed. Option values are kept
// as the property assignments systemd-run sends for them; props parses
// (and has validated) each.
type runFlags struct {
	unit, description, slice          string
	unitSet, descriptionSet, sliceSet bool
	// exec holds the assignments of --service-type, --uid, --gid,
	// --nice and --working-directory/-d by property name ("Nice":
	// "Nice=5"); the last option given wins.
	exec                                map[string]string
	environment                         []string // -E, NAME=VALUE; a later NAME replaces
	properties, timerProperties         []string
	withTimer                           bool
	scope, sliceInherit                 bool     // --scope, --slice-inherit
	pathProperties, socketProperties    []string // --path-property, --socket-property
	remainAfterExit, sendSIGHUP         bool
	wait, noBlock, pipe, quiet, collect bool
	// pty is -t: a pseudo-terminal forwarded to ours. With -P too (or
	// -S) parseRun picks one: pty if stdin, stdout and stderr are all
	// terminals, else pipe. shell is -S.
	pty, shell    bool
	userManager   bool
	noAskPassword bool
	hosts         []string // -H, in order
	machines      []string // -M, in order
	parallel      int
	cmdline       []string
	warnings      []string // printed before anything is sent
	// ptyMachine is the local container whose pseudo-terminal -t
	// forwards (machined's OpenMachinePTY), with one -M.
	ptyMachine string

	// Options later versions added.
	expandEnv     int    // --expand-environment: -1 not given, 0 no, 1 yes (254)
	ignoreFailure bool   // --ignore-failure (256)
	background    string // --background's ANSI color (256)
	json          string // --json: "pretty", "short", or "" for off (257)
	ptyLate       bool   // -T: -t, the forwarding set up once started (258)
	jobMode       string // --job-mode, "" for fail (258)
	rootDir       string // --root-directory or -R ("/"), absolute (259)
	sameDir       bool   // -d was given after any --working-directory
	verbose       bool   // -v: the unit's journal while it starts (261)
	output        string // --output: journalctl's -o for -v (261)

	args []string      // as given, to parse again for another version
	v    props.Version // the systemd-run version args were parsed as
}

// jobModes are the job modes --job-mode takes (258's, as 262's).
var jobModes = []string{"fail", "lenient", "replace", "replace-irreversibly", "isolate", "flush",
	"ignore-dependencies", "ignore-requirements", "triggering", "restart-dependencies"}

// ansiColorCode reports whether s is empty or looks like an ANSI SGR
// color code, as systemd's looks_like_ansi_color_code has it: digits in
// groups separated by single ';'.
func ansiColorCode(s string) bool {
	digit := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c == ';' && digit:
			digit = false
		default:
			return false
		}
	}
	return digit || s == ""
}

// execOptions are the properties systemd-run 252 sends for the options
// that set one, in the order it sends them (after -p's).
var execOptions = []struct{ option, property string }{
	{"service-type", "Type"}, {"uid", "User"}, {"gid", "Group"}, {"nice", "Nice"},
	{"working-directory", "WorkingDirectory"}, {"same-dir", "WorkingDirectory"},
}

// setExec records option's assignment, property=value, once props has
// parsed it. An empty value unsets the property (bar Nice=, where it is
// an error).
func (f *runFlags) setExec(option, value string) error {
	i := slices.IndexFunc(execOptions, func(o struct{ option, property string }) bool { return o.option == option })
	name := execOptions[i].property
	delete(f.exec, name)
	if value == "" && name != "Nice" {
		return nil
	}
	a := name + "=" + value
	if _, err := props.Parse(props.Service, a); err != nil {
		return err
	}
	f.exec[name] = a
	return nil
}

// parseRun parses and validates a systemd-run command line as the parse_argv
// of systemd-run v does. Every error is a usage error.
func (e *env) parseRun(args []string, v props.Version) (*runFlags, error) {
	opts, rest, err := getoptLong(args, v)
	if err != nil {
		return nil, usagef("run: %v", err)
	}
	f := &runFlags{parallel: defaultParallel, exec: map[string]string{}, args: args, v: v, expandEnv: -1}
	for _, po := range opts {
		o, arg := po.opt, po.arg
		if o.unsupported {
			why := ""
			switch o.long {
			case "capsule":
				why = " (it talks to a capsule's user manager, systemd-capsuled, which borgrun does not reach)"
			}
			return nil, usagef("run: option '--%s' is not supported by borgrun run%s", o.long, why)
		}
		switch o.long {
		case "help":
			fmt.Fprint(e.stdout, runHelp)
			return nil, errRunHelp
		case "version":
			e.printVersion()
			return nil, errRunHelp
		case "no-ask-password":
			f.noAskPassword = true
		case "host":
			f.hosts = append(f.hosts, arg)
		case "machine":
			f.machines = append(f.machines, arg)
		case "parallel":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return nil, usagef("run: --parallel %q: want a number of hosts", arg)
			}
			f.parallel = n
		case "user":
			f.userManager = true
		case "system":
			f.userManager = false
		case "unit":
			f.unit, f.unitSet = arg, true
		case "description":
			f.description, f.descriptionSet = arg, true
		case "slice":
			f.slice, f.sliceSet = arg, true
		case "scope":
			f.scope = true
		case "slice-inherit":
			f.sliceInherit = true
		case "path-property":
			f.pathProperties = append(f.pathProperties, arg)
		case "socket-property":
			f.socketProperties = append(f.socketProperties, arg)
		case "send-sighup":
			f.sendSIGHUP = true
		case "remain-after-exit":
			f.remainAfterExit = true
		case "service-type", "uid", "gid", "nice":
			if err := f.setExec(o.long, arg); err != nil {
				return nil, usagef("run: --%s %q: %v", o.long, arg, err)
			}
		case "setenv":
			env, err := props.ParseSetenv(arg, os.LookupEnv)
			if err != nil {
				return nil, usagef("run: --setenv %q: %v", arg, err)
			}
			name, _, _ := strings.Cut(env, "=")
			if i := slices.IndexFunc(f.environment, func(s string) bool { return strings.HasPrefix(s, name+"=") }); i >= 0 {
				f.environment[i] = env
			} else {
				f.environment = append(f.environment, env)
			}
		case "property":
			f.properties = append(f.properties, arg)
		case "pipe":
			f.pipe = true
		case "pty", "tty":
			f.pty = true
		case "shell":
			f.shell = true
		case "quiet":
			f.quiet = true
		case "on-active", "on-boot", "on-startup", "on-unit-active", "on-unit-inactive":
			name := map[string]string{"on-active": "OnActiveSec", "on-boot": "OnBootSec", "on-startup": "OnStartupSec",
				"on-unit-active": "OnUnitActiveSec", "on-unit-inactive": "OnUnitInactiveSec"}[o.long]
			f.timerProperties = append(f.timerProperties, name+"="+arg)
			f.withTimer = true
		case "on-calendar":
			_, err := props.ValidateCalendar(arg, e.now())
			switch {
			case errors.Is(err, props.ErrNeverElapses):
				f.warnings = append(f.warnings, "Specified calendar expression is in the past, proceeding anyway.")
			case err != nil:
				return nil, usagef("run: --on-calendar: %v", err)
			}
			f.timerProperties = append(f.timerProperties, "OnCalendar="+arg)
			f.withTimer = true
		case "on-timezone-change":
			f.timerProperties = append(f.timerProperties, "OnTimezoneChange=yes")
			f.withTimer = true
		case "on-clock-change":
			f.timerProperties = append(f.timerProperties, "OnClockChange=yes")
			f.withTimer = true
		case "timer-property":
			f.timerProperties = append(f.timerProperties, arg)
			triggers := []string{"OnActiveSec=", "OnBootSec=", "OnStartupSec=", "OnUnitActiveSec=", "OnUnitInactiveSec=", "OnCalendar="}
			if v >= props.V262 {
				// 262 counts these two as triggers too (as
				// --on-clock-change and --on-timezone-change
				// always were); NEWS does not say since when.
				triggers = append(triggers, "OnClockChange=", "OnTimezoneChange=")
			}
			for _, p := range triggers {
				if strings.HasPrefix(arg, p) {
					f.withTimer = true
				}
			}
		case "no-block":
			f.noBlock = true
		case "wait":
			f.wait = true
		case "working-directory", "same-dir":
			f.sameDir = o.long == "same-dir"
			path, cwd := arg, ""
			if o.long == "same-dir" || arg != "" && !strings.HasPrefix(arg, "/") {
				wd, err := os.Getwd()
				if err != nil {
					return nil, usagef("run: --%s: %v", o.long, err)
				}
				cwd = wd
				if o.long == "same-dir" {
					path = wd
				}
			}
			if err := f.setExec(o.long, props.ParsePathArgument(path, cwd)); err != nil {
				return nil, usagef("run: --%s %q: %v", o.long, arg, err)
			}
		case "collect":
			f.collect = true
		case "expand-environment":
			b, err := props.ParseBool(arg)
			if err != nil {
				return nil, usagef("run: --expand-environment=%s: want a boolean (yes or no)", arg)
			}
			f.expandEnv = 0
			if b {
				f.expandEnv = 1
			}
		case "ignore-failure":
			f.ignoreFailure = true
		case "background":
			// 257 takes any value; 262 checks it (NEWS does not
			// say since when).
			if v >= props.V262 && !ansiColorCode(arg) {
				return nil, usagef("run: --background=%s: want an ANSI color code (digits and ';', as \"48;2;0;0;80\")", arg)
			}
			f.background = arg
		case "json":
			switch arg {
			case "pretty", "short":
				f.json = arg
			case "off":
				f.json = ""
			case "help":
				fmt.Fprint(e.stdout, "pretty\nshort\noff\n")
				return nil, errRunHelp
			default:
				return nil, usagef("run: --json=%s: want pretty, short or off", arg)
			}
		case "pty-late":
			f.pty, f.ptyLate = true, true
		case "job-mode":
			if arg == "help" {
				fmt.Fprintln(e.stdout, strings.Join(jobModes, "\n"))
				return nil, errRunHelp
			}
			if !slices.Contains(jobModes, arg) {
				return nil, usagef("run: --job-mode=%s: want one of %s", arg, strings.Join(jobModes, ", "))
			}
			f.jobMode = arg
		case "root-directory":
			cwd := ""
			if !strings.HasPrefix(arg, "/") {
				wd, err := os.Getwd()
				if err != nil {
					return nil, usagef("run: --root-directory: %v", err)
				}
				cwd = wd
			}
			// parse_path_argument without suppressing the root:
			// "" unsets, "/" (or "//.") stays "/".
			f.rootDir = props.ParsePathArgument(arg, cwd)
			if f.rootDir == "" && arg != "" {
				f.rootDir = "/"
			}
		case "same-root-dir":
			f.rootDir = "/"
		case "verbose":
			f.verbose = true
		case "output":
			if arg == "help" {
				fmt.Fprintln(e.stdout, strings.Join(outputModes, "\n"))
				return nil, errRunHelp
			}
			if !slices.Contains(outputModes, arg) {
				return nil, usagef("run: --output=%s: want one of %s", arg, strings.Join(outputModes, ", "))
			}
			f.output = arg
		case "no-pager":
			// systemd-run pages only its --help; borgrun never pages.
		}
		if o.long == "pty" || o.long == "tty" {
			f.ptyLate = false
		}
	}
	f.cmdline = rest

	// The checks at the end of systemd-run 252's parse_argv, in its order.
	if f.triggers() > 1 {
		return nil, usagef("run: Only single trigger (path, socket, timer) unit can be created.")
	}
	if err := f.implyShell(); err != nil {
		return nil, usagef("run: --shell: %v", err)
	}
	f.pickStdio()
	if f.shell {
		if len(f.cmdline) > 0 {
			return nil, usagef("run: If --shell is used, no command line is expected.")
		}
		sh, err := userShell()
		if err != nil {
			return nil, usagef("run: --shell: failed to determine shell: %v", err)
		}
		f.cmdline = []string{sh}
	}
	stdio := f.pty || f.pipe
	withTrigger := f.withTimer || len(f.pathProperties) > 0 || len(f.socketProperties) > 0
	switch {
	case len(f.cmdline) == 0 && (!f.unitSet || !withTrigger):
		return nil, usagef("run: command line to execute required (COMMAND may be omitted only with --unit and a path, socket or timer option)")
	case f.scope && (f.remainAfterExit || slices.ContainsFunc(opts, func(po parsedOption) bool { return po.opt.long == "service-type" })):
		return nil, usagef("run: --remain-after-exit and --service-type= are not supported in --scope mode.")
	case stdio && (withTrigger || f.scope):
		return nil, usagef("run: --pty/--pipe is not compatible in timer or --scope mode.")
	case stdio && f.noBlock:
		return nil, usagef("run: --pty/--pipe is not compatible with --no-block.")
	case f.scope && withTrigger:
		return nil, usagef("run: Path, socket or timer options are not supported in --scope mode.")
	case len(f.timerProperties) > 0 && !f.withTimer:
		return nil, usagef("run: --timer-property=%s has no effect without any other timer options", f.timerProperties[0])
	case f.pty && f.ptyLate && f.exec["Type"] == "Type=oneshot":
		return nil, usagef("run: --pty-late is not compatible with --service-type=oneshot.")
	case f.json != "" && v >= props.V262 && (f.pty || f.pipe):
		return nil, usagef("run: --json= is not compatible with --pty/--pty-late/--pipe.")
	case f.json != "" && v >= props.V262 && f.verbose:
		return nil, usagef("run: --json= is not compatible with --verbose.")
	case f.json != "" && v >= props.V262 && withTrigger:
		return nil, usagef("run: --json= is not compatible with path, socket or timer operations.")
	case f.json != "" && v >= props.V262 && f.scope:
		return nil, usagef("run: --json= is not supported in --scope mode.")
	case f.ignoreFailure && v >= props.V262 && f.scope:
		// 257 ignores it in a scope; 262 refuses it (NEWS does not
		// say since when).
		return nil, usagef("run: --remain-after-exit, --service-type= and --ignore-failure are not supported in --scope mode.")
	case f.rootDir != "" && f.scope:
		return nil, usagef("run: --root-directory= is not supported in --scope mode.")
	case f.rootDir != "" && f.sameDir && f.rootDir != "/":
		return nil, usagef("run: --same-dir cannot be used with a root directory other than '/'")
	case f.wait && f.noBlock:
		return nil, usagef("run: --wait cannot be combined with --no-block")
	case f.wait && withTrigger:
		return nil, usagef("run: --wait cannot be combined with path, socket or timer options")
	case f.wait && f.scope:
		return nil, usagef("run: --wait cannot be combined with --scope")
	}
	return f, nil
}

// errRunHelp ends a run that printed help or the version: exit 0.
var errRunHelp = errors.New("help printed")

// changeSuffix replaces the unit type suffix of name.
func changeSuffix(name, suffix string) string {
	return name[:strings.LastIndexByte(name, '.')] + suffix
}

// runPlan is everything borgrun run sends, computed before connecting.
type runPlan struct {
	f                        *runFlags
	service, trigger         string               // trigger "" for a plain service; service is the scope with --scope
	serviceProps, timerProps []transient.Property // timerProps: the trigger's (timer, path or socket)
	// The service's -E environment (nil if none) and its command, sent
	// last, after what --pipe adds.
	environment, execStart []transient.Property
	notices                []string // printed (unless quiet) before the call
	warnings               []string // printed before the call, even when quiet
	v                      props.Version
}

// findExecutable resolves argv[0] as systemd's find_executable: a name
// with a '/' is checked and made absolute (not simplified); otherwise
// each absolute directory in $PATH is tried.
func findExecutable(name string) (string, error) {
	check := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return syscall.EISDIR
		}
		if !st.Mode().IsRegular() {
			return syscall.EACCES
		}
		return unix.Access(p, unix.X_OK)
	}
	if strings.Contains(name, "/") {
		if err := check(name); err != nil {
			return "", err
		}
		if !strings.HasPrefix(name, "/") {
			wd, err := os.Getwd()
			if err != nil {
				return "", err
			}
			name = strings.TrimSuffix(wd, "/") + "/" + name
		}
		return name, nil
	}
	path, ok := os.LookupEnv("PATH")
	if !ok {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var last error = syscall.ENOENT
	for _, dir := range strings.Split(path, ":") {
		if !strings.HasPrefix(dir, "/") {
			continue
		}
		p := strings.TrimSuffix(dir, "/") + "/" + name
		err := check(p)
		if err == nil {
			return filepath.Clean(p), nil
		}
		last = err
	}
	return "", last
}

// plan builds the units' names and properties from f, as systemd-run of
// version v would send them. uniqueName is the connection's unique name
// ("" on a private socket). Every error is a usage error.
func (e *env) plan(f *runFlags, uniqueName string, v props.Version) (*runPlan, error) {
	p := &runPlan{f: f, v: v}
	quietNotices := func(n []string) {
		if !f.quiet {
			p.notices = append(p.notices, n...)
		}
	}
	autoName := func() (string, error) {
		if v >= props.V257 {
			// 257 names the unit after itself, its PID and the ID
			// of its pidfd, when the kernel has pidfs IDs.
			if id, ok := selfPidfdID(); ok {
				return fmt.Sprintf("run-p%d-i%d.service", os.Getpid(), id), nil
			}
		}
		if uniqueName == "" || v >= props.V257 {
			var b [16]byte
			if _, err := rand.Read(b[:]); err != nil {
				return "", err
			}
			b[6] = b[6]&0x0f | 0x40 // sd_id128_randomize makes a v4 UUID
			b[8] = b[8]&0x3f | 0x80
			return "run-r" + hex.EncodeToString(b[:]) + ".service", nil
		}
		id, ok := strings.CutPrefix(uniqueName, ":1.")
		if !ok {
			id = strings.TrimPrefix(uniqueName, ":")
		}
		return "run-u" + id + ".service", nil
	}
	var err error
	suffix := f.triggerSuffix()
	switch {
	case f.scope && f.unitSet:
		var n []string
		p.service, n, err = props.MangleUnitName(f.unit, ".scope", "as unit")
		if err != nil {
			return nil, usagef("run: --unit: %v", err)
		}
		if props.UnitNameType(p.service) != "scope" {
			return nil, usagef("run: --unit %q: not a scope name", f.unit)
		}
		quietNotices(n)
	case f.scope:
		if p.service, err = autoName(); err != nil {
			return nil, err
		}
		p.service = changeSuffix(p.service, ".scope")
	case suffix == "" && f.unitSet:
		var n []string
		p.service, n, err = props.MangleUnitName(f.unit, ".service", "as unit")
		if err != nil {
			return nil, usagef("run: --unit: %v", err)
		}
		if props.UnitNameType(p.service) != "service" {
			return nil, usagef("run: --unit %q: not a service name", f.unit)
		}
		quietNotices(n)
	case suffix == "":
		if p.service, err = autoName(); err != nil {
			return nil, err
		}
	case f.unitSet:
		switch props.UnitNameType(f.unit) {
		case "service":
			p.service, p.trigger = f.unit, changeSuffix(f.unit, suffix)
		case "timer":
			p.trigger, p.service = f.unit, changeSuffix(f.unit, ".service")
		default:
			var n1, n2 []string
			p.service, n1, err = props.MangleUnitName(f.unit, ".service", "as unit")
			if err == nil {
				p.trigger, n2, err = props.MangleUnitName(f.unit, suffix, "as trigger")
			}
			if err != nil {
				return nil, usagef("run: --unit: %v", err)
			}
			quietNotices(n1)
			quietNotices(n2)
		}
		if props.UnitNameType(p.service) != "service" || "."+props.UnitNameType(p.trigger) != suffix || !props.ValidUnitName(p.service) || !props.ValidUnitName(p.trigger) {
			if suffix == ".timer" {
				return nil, usagef("run: --unit %q: want NAME, NAME.service or NAME.timer with a timer", f.unit)
			}
			return nil, usagef("run: --unit %q: want NAME or NAME.service with a %s unit", f.unit, suffix[1:])
		}
	default:
		if p.service, err = autoName(); err != nil {
			return nil, err
		}
		p.trigger = changeSuffix(p.service, suffix)
	}

	description := f.description
	switch {
	case f.descriptionSet:
	case v >= props.V257:
		// "[systemd-run] " and the command line quoted for a shell,
		// without a login shell's "-", or the unit as given.
		t := f.unit
		if len(f.cmdline) > 0 {
			argv := slices.Clone(f.cmdline)
			argv[0] = strings.TrimPrefix(argv[0], "-")
			t = props.QuoteCommandLine(argv)
		}
		description = "[systemd-run] " + t
	default:
		description = strings.Join(f.cmdline, " ")
		if f.unitSet && description == "" {
			description = f.unit
		}
	}
	// systemd-run's transient_unit_set_properties: what both units get
	// before their own properties.
	common := []string{"Description=" + description}
	if f.collect {
		common = append(common, "CollectMode=inactive-or-failed")
	}

	if f.scope {
		return p, p.planScope(common, uniqueName)
	}
	switch suffix {
	case ".timer":
		a := append(slices.Clone(common), f.timerProperties...)
		if p.timerProps, err = p.encode(props.Timer, append(a, "RemainAfterElapse=no")...); err != nil {
			return nil, err
		}
	case ".path", ".socket":
		if err := p.planPathSocket(common, uniqueName); err != nil {
			return nil, err
		}
	}
	if len(f.cmdline) == 0 {
		return p, nil
	}

	// transient_service_set_properties, in its order: the unit's, -p's,
	// the kill and cgroup options, AddRef (a D-Bus-only property, which no
	// assignment stands for), then the service and exec options.
	before := append(slices.Clone(common), f.properties...)
	if f.sendSIGHUP {
		before = append(before, "SendSIGHUP=yes")
	}
	slice, err := p.slice()
	if err != nil {
		return nil, err
	}
	before = append(before, slice...)
	var after []string
	if f.remainAfterExit {
		after = append(after, "RemainAfterExit=yes")
	}
	for _, o := range execOptions {
		if a, ok := f.exec[o.property]; ok && !slices.Contains(after, a) {
			after = append(after, a)
		}
	}
	if p.serviceProps, err = p.encode(props.Service, before...); err != nil {
		return nil, err
	}
	if (f.wait || f.pipe || f.pty) && uniqueName != "" {
		p.serviceProps = append(p.serviceProps, transient.Property{Name: "AddRef", Value: dbus.MakeVariant(true)})
	}
	ps, err := p.encode(props.Service, after...)
	if err != nil {
		return nil, err
	}
	p.serviceProps = append(p.serviceProps, ps...)
	if len(f.environment) > 0 {
		if p.environment, err = p.encode(props.Service, "Environment="+props.QuoteArgv(f.environment)); err != nil {
			return nil, err
		}
	}
	// --ignore-failure is ExecStart's "-"; --expand-environment=no makes
	// it ExecStartEx, with the no-env-expand flag (":").
	exec := "ExecStart="
	if f.ignoreFailure {
		exec += "-"
	}
	if f.expandEnv == 0 {
		exec = strings.Replace(exec, "ExecStart=", "ExecStartEx=", 1) + ":"
	}
	if p.execStart, err = p.encode(props.Service, exec+props.QuoteArgv(f.cmdline)); err != nil {
		return nil, err
	}
	return p, nil
}

// encode parses assignments for a unit of type t into the properties
// StartTransientUnit takes, as systemd-run of p's version does; it notes
// the warning that version prints for a setting it ignores. Errors are
// usage errors.
func (p *runPlan) encode(t props.UnitType, assignments ...string) ([]transient.Property, error) {
	ps, err := props.ParseAllFor(p.v, t, assignments)
	if err != nil {
		return nil, usagef("run: %v", err)
	}
	for _, a := range assignments {
		name, _, _ := strings.Cut(a, "=")
		if w, ok := props.Ignored(p.v, t, name); ok {
			p.warnings = append(p.warnings, w)
		}
	}
	out := make([]transient.Property, len(ps))
	for i, p := range ps {
		out[i] = transient.Property(p)
	}
	return out, nil
}

// resolveCommand makes argv[0] absolute with our PATH, as systemd-run
// does unless a -p property moves the command's root or search path.
func resolveCommand(f *runFlags) error {
	if len(f.cmdline) == 0 {
		return nil
	}
	if f.rootDir != "" && f.rootDir != "/" {
		return nil
	}
	for _, p := range f.properties {
		for _, pre := range []string{"RootDirectory=", "RootImage=", "ExecSearchPath=", "MountImages=", "ExtensionImages="} {
			if strings.HasPrefix(p, pre) {
				return nil
			}
		}
	}
	path, err := findExecutable(f.cmdline[0])
	if err != nil {
		return usagef("run: command %q: %v", f.cmdline[0], err)
	}
	f.cmdline = append([]string{path}, f.cmdline[1:]...)
	return nil
}

// systemdRun is borgrun run: it returns the exit status systemd-run would.
func (e *env) systemdRun(args []string) (int, error) {
	f, err := e.parseAnyVersion(args)
	if errors.Is(err, errRunHelp) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	hosts, err := parseHosts("run", f.hosts, f.machines, f.parallel, f.userManager)
	if err != nil {
		return 0, err
	}
	switch {
	case len(f.hosts) > 0 && f.scope:
		return 0, usagef("run: Scope execution is not supported on remote systems.")
	case len(f.machines) > 0 && f.scope:
		// systemd-run -M --scope would hand the container's manager a
		// PID of the host's.
		return 0, usagef("run: --scope cannot be combined with -M: the scope would hold borgrun's own process, which is not in the container")
	case len(f.hosts) > 0 && (f.pipe || f.pty):
		return 0, usagef("run: --pty/--pipe is only supported when connecting to the local system or containers.")
	case len(hosts) > 1 && (f.pipe || f.pty):
		return 0, usagef("run: --pty/--pipe goes with one -M only")
	case len(hosts) > 0 && len(f.cmdline) > 0:
		// As systemd-run -H and -M: the remote manager resolves a
		// bare name.
		if strings.Contains(f.cmdline[0], "/") && !strings.HasPrefix(f.cmdline[0], "/") {
			return 0, usagef("run: command %q: with -H or -M, give an absolute path or a bare name the remote manager finds", f.cmdline[0])
		}
	default:
		if err := resolveCommand(f); err != nil {
			return 0, err
		}
	}
	// Validate everything against a stand-in connection name before
	// connecting, for any version props knows, so that bad input never
	// reaches the manager; runOn plans again for the manager's version.
	if _, err := e.plan(f, ":1.0", props.NewestVersion); err != nil {
		return 0, err
	}
	if _, err := e.plan(f, "", props.NewestVersion); err != nil {
		return 0, err
	}

	wait := f.wait || f.pipe || f.pty
	if len(hosts) > 1 {
		return 0, e.fanOut(hosts, f.parallel, wait, false, func(_ transient.Host, c *transient.Conn, w io.Writer) (any, error) {
			he := *e
			he.stdout, he.stderr = w, w
			code, err := he.runOn(c, f)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit status %d", code)
			}
			return nil, err
		})
	}
	dial := e.dial
	switch {
	case len(hosts) == 1:
		dial = e.hostDial(hosts[0])
		if f.pty {
			f.ptyMachine = hosts[0].Machine
		}
	case f.userManager:
		dial.Manager = transient.User
	}
	dial.Wait = wait
	dial.AskPassword = !f.noAskPassword
	c, err := e.connect(dial)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return e.runOn(c, f)
}

// parseAnyVersion parses args as the newest systemd-run that accepts them
// does, or returns the newest one's error: input that no version accepts
// is refused before connecting. runOn parses again for the manager's
// version.
func (e *env) parseAnyVersion(args []string) (*runFlags, error) {
	var first error
	for v := props.NewestVersion; v >= props.OldestVersion; v-- {
		f, err := e.parseRun(args, v)
		if err == nil || errors.Is(err, errRunHelp) {
			return f, err
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// forVersion returns f as systemd-run v parses its command line (options
// v lacks are refused, naming the version they need), with what
// systemdRun made of the command and -M since.
func (e *env) forVersion(f *runFlags, v props.Version) (*runFlags, error) {
	if f.v == v {
		return f, nil
	}
	g, err := e.parseRun(f.args, v)
	if errors.Is(err, errRunHelp) {
		return nil, usagef("run: --help and --version are answered before connecting")
	}
	if err != nil {
		return nil, err
	}
	g.cmdline, g.ptyMachine = f.cmdline, f.ptyMachine
	return g, nil
}

// runOn starts f's units on the manager c is connected to.
func (e *env) runOn(c *transient.Conn, f *runFlags) (int, error) {
	v, err := c.Version(e.ctx)
	if err != nil {
		return 0, err
	}
	if f, err = e.forVersion(f, v); err != nil {
		return 0, err
	}
	p, err := e.plan(f, c.UniqueName(), v)
	if err != nil {
		return 0, err
	}
	if consoleCRLF(e.stderr, v) {
		ce := *e
		ce.stderr = crlfWriter{e.stderr}
		e = &ce
	}
	for _, w := range slices.Concat(f.warnings, p.warnings) {
		fmt.Fprintln(e.stderr, w)
	}
	for _, n := range p.notices {
		fmt.Fprintln(e.stderr, n)
	}
	switch {
	case f.scope:
		return e.startScope(c, p)
	case p.trigger != "":
		return e.startTimer(c, p)
	}
	return e.startService(c, p)
}

func (e *env) startTimer(c *transient.Conn, p *runPlan) (int, error) {
	var aux []transient.AuxUnit
	if len(p.f.cmdline) > 0 {
		root, err := rootDirectory(c, p.f)
		if err != nil {
			return 0, err
		}
		if root != nil {
			defer root.Close()
		}
		ps := slices.Concat(p.serviceProps, rootProperty(root), p.environment, p.execStart)
		aux = []transient.AuxUnit{{Name: p.service, Properties: ps}}
	}
	kind := props.UnitNameType(p.trigger)
	if code, failed := e.startFailed(c.StartTransientMode(e.ctx, p.trigger, p.f.mode(), p.timerProps, aux, true), kind, p.f.quiet, p.v, p.f.userManager); failed {
		return code, nil
	}
	if !p.f.quiet {
		fmt.Fprintf(e.stderr, "Running %s as unit: %s\n", kind, p.trigger)
		if len(p.f.cmdline) > 0 {
			fmt.Fprintf(e.stderr, "Will run service as unit: %s\n", p.service)
		}
	}
	return 0, nil
}

// startFailed prints systemd-run's message for a failed start and returns
// its exit status (1), or reports false if err is nil. When borgrun was
// interrupted, err is reported as every command reports it: 128+N.
func (e *env) startFailed(err error, kind string, quiet bool, v props.Version, user bool) (int, bool) {
	if err == nil {
		return 0, false
	}
	if _, ok := e.signalExit(); ok {
		// Interrupted (say, just before the start was sent): 128+N,
		// and a line that says what was left done, as every command.
		return e.report(err), true
	}
	var me *transient.ManagerError
	var je *transient.JobError
	switch {
	case errors.As(err, &me):
		fmt.Fprintf(e.stderr, "Failed to start transient %s unit: %s\n", kind, me.Message)
	case errors.As(err, &je):
		if !quiet {
			fmt.Fprintln(e.stderr, jobFailure(je, v, user))
		}
	default:
		fmt.Fprintln(e.stderr, "borgrun:", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return exitFailure, true
}

// stopInterrupted stops the service that run --wait (or --pipe) started
// when borgrun is interrupted, and waits (bounded) for it to stop, as now
// does: where systemd-run dies of the signal and leaves the unit running,
// nobody waiting for it, borgrun does not abandon what it started. It
// returns 128+N, or the error if the stop failed.
func (e *env) stopInterrupted(c *transient.Conn, unit string) (int, error) {
	code, _ := e.signalExit()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), stopInterruptedTimeout)
	defer cancel()
	if err := c.Stop(ctx, unit); err != nil {
		return 0, fmt.Errorf("run: interrupted, and stopping %s failed: %w", unit, err)
	}
	return code, nil
}

// stopInterruptedTimeout bounds the stop of an interrupted run's unit.
const stopInterruptedTimeout = time.Minute

// jobFailure is systemd-run's (check_wait_response's) message for a start
// job that did not succeed, as version v words it; user adds systemd-run
// --user's "--user" to the commands it suggests.
func jobFailure(je *transient.JobError, v props.Version, user bool) string {
	unit := je.Unit
	switch je.JobResult {
	case "canceled":
		return "Job for " + unit + " canceled."
	case "timeout":
		return "Job for " + unit + " timed out."
	case "dependency":
		return "A dependency job for " + unit + " failed. See 'journalctl -xe' for details."
	case "invalid":
		return unit + " is not active, cannot reload."
	case "assert":
		return "Assertion failed on job for " + unit + "."
	case "unsupported":
		return "Operation on or unit type of " + unit + " not supported on this system."
	case "collected":
		return "Queued job for " + unit + " was garbage collected."
	case "once":
		return "Unit " + unit + " was started already once and can't be started again."
	case "frozen":
		if v >= props.V257 {
			return "Cannot perform operation on frozen unit " + unit + "."
		}
	case "concurrency":
		if v >= props.V258 {
			return "Concurrency limit of a slice unit " + unit + " is contained in has been reached."
		}
	}
	if !strings.HasSuffix(unit, ".service") {
		return `Job failed. See "journalctl -xe" for details.`
	}
	systemctl, journalctl := "systemctl", "journalctl"
	if user {
		systemctl, journalctl = "systemctl --user", "journalctl --user"
	}
	quoted := props.ShellMaybeQuote(unit)
	see := fmt.Sprintf("See \"%s status %s\" and \"%s -xeu %s\" for details.", systemctl, quoted, journalctl, quoted)
	oom := "of an out-of-memory (OOM) situation"
	if v < props.V257 {
		oom = "of an out-of-memory (OOM) siutation" // sic, until 257
	}
	why := map[string]string{
		"resources":       "of unavailable resources or another system error",
		"protocol":        "the service did not take the steps required by its unit configuration",
		"timeout":         "a timeout was exceeded",
		"exit-code":       "the control process exited with error code",
		"signal":          "a fatal signal was delivered to the control process",
		"core-dump":       "a fatal signal was delivered causing the control process to dump core",
		"watchdog":        "the service failed to send watchdog ping",
		"start-limit-hit": "start of the service was attempted too often",
		"oom-kill":        oom,
	}[je.ServiceResult]
	if why == "" {
		return "Job for " + unit + " failed.\n" + see
	}
	msg := "Job for " + unit + " failed because " + why + ".\n" + see
	if je.ServiceResult == "start-limit-hit" {
		msg += fmt.Sprintf("\nTo force a start use \"%[1]s reset-failed %[2]s\"\nfollowed by \"%[1]s start %[2]s\" again.", systemctl, quoted)
	}
	return msg
}

func (e *env) startService(c *transient.Conn, p *runPlan) (int, error) {
	f := p.f
	root, err := rootDirectory(c, f)
	if err != nil {
		return 0, err
	}
	if root != nil {
		defer root.Close()
	}
	ps := slices.Concat(p.serviceProps, rootProperty(root))
	var master *os.File
	switch {
	case f.pty:
		open := openPTY
		if f.ptyMachine != "" {
			open = func() (*os.File, *os.File, string, error) { return e.openMachinePTY(f.ptyMachine) }
		}
		m, peer, path, err := open()
		if err != nil {
			return 0, fmt.Errorf("run: %w", err)
		}
		defer m.Close()
		defer peer.Close()
		master = m
		ps = append(ps, ptyProperties(p.v, path, peer, c.PassesFDs())...)
		env, err := p.encodeEach(props.Service, "Environment", termEnvironment(p.v, true))
		if err != nil {
			return 0, err
		}
		ps = append(ps, env...)
	case f.pipe:
		if !c.PassesFDs() {
			return 0, errors.New("run: --pipe: this connection to the manager cannot pass file descriptors")
		}
		out, err := e.outputs(c)
		if err != nil {
			return 0, err
		}
		defer out.close()
		ps = append(ps, transient.Property{Name: "StandardInputFileDescriptor", Value: dbus.MakeVariant(dbus.UnixFD(os.Stdin.Fd()))})
		ps = append(ps, out.props...)
		env, err := p.encodeEach(props.Service, "Environment", termEnvironment(p.v, false))
		if err != nil {
			return 0, err
		}
		ps = append(ps, env...)
	}
	ps = slices.Concat(ps, p.environment, p.execStart)

	// 257 waits for the start job neither with --pipe or --pty nor with
	// --wait (where the service's end is waited for).
	waits := f.wait || f.pipe || f.pty
	waitJob := !f.noBlock && !f.pipe && !f.pty && !(f.wait && p.v >= props.V257)
	stopJournal := func() {}
	if f.verbose {
		stopJournal = e.followJournal(f, p.service)
	}
	defer stopJournal()
	err = c.StartTransientMode(e.ctx, p.service, f.mode(), ps, nil, waitJob)
	if errors.Is(err, transient.ErrCreated) && waits {
		// Interrupted while the start job ran: as below.
		return e.stopInterrupted(c, p.service)
	}
	if code, failed := e.startFailed(err, "service", f.quiet, p.v, p.f.userManager); failed {
		return code, nil
	}
	// 255 and later name the unit's invocation: it reads the ID once
	// the start job is done (or queued). When the end is waited for,
	// the ID comes with the first reading of the unit's state.
	running := func(id string) {
		if f.json != "" {
			printRunJSON(e.stdout, f.json, p.service, id)
			return
		}
		if id == "" {
			fmt.Fprintf(e.stderr, "Running as unit: %s\n", p.service)
		} else {
			fmt.Fprintf(e.stderr, "Running as unit: %s; invocation ID: %s\n", p.service, id)
		}
	}
	if !waits || f.pty {
		if !f.quiet {
			id := ""
			if p.v >= props.V255 {
				if id, err = c.InvocationID(e.ctx, p.service); err != nil {
					if _, ok := e.signalExit(); ok && f.pty {
						return e.stopInterrupted(c, p.service)
					}
					return 0, err
				}
			}
			running(id)
		}
		if f.pty {
			return e.forwardPTY(c, p, master)
		}
		return 0, nil
	}
	var started func(string)
	switch {
	case f.quiet:
	case p.v >= props.V255:
		started = running
	default:
		running("")
	}
	res, err := c.WaitServiceReport(e.ctx, p.service, started)
	if err != nil {
		if _, ok := e.signalExit(); ok {
			return e.stopInterrupted(c, p.service)
		}
		return 0, err
	}
	// 261's -v stops following the journal before the summary.
	stopJournal()
	if f.wait && !f.quiet {
		e.summary(res, false, p.v)
	}
	return res.ExitStatus(), nil
}

// rootDirectory opens a clone of the mount tree at --root-directory (or
// -R's /), which systemd-run 259 and later hand the manager as
// RootDirectoryFileDescriptor; nil without either option.
func rootDirectory(c *transient.Conn, f *runFlags) (*os.File, error) {
	if f.rootDir == "" {
		return nil, nil
	}
	if !c.PassesFDs() {
		return nil, errors.New("run: --root-directory/-R: this connection to the manager cannot pass file descriptors")
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, f.rootDir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return nil, fmt.Errorf("run: --root-directory: failed to clone mount tree at '%s': %w", f.rootDir, err)
	}
	return os.NewFile(uintptr(fd), f.rootDir), nil
}

// rootProperty is the property that passes root, none if root is nil.
func rootProperty(root *os.File) []transient.Property {
	if root == nil {
		return nil
	}
	return []transient.Property{{Name: "RootDirectoryFileDescriptor", Value: dbus.MakeVariant(dbus.UnixFD(root.Fd()))}}
}

// printRunJSON prints what systemd-run --json=format prints instead of
// "Running as unit": an object with the unit and, when known, its
// invocation ID (32 hex digits). pretty indents with a tab and puts
// " : " between name and value, as systemd's JSON printer does; colors,
// which it adds on a terminal, are left out.
func printRunJSON(w io.Writer, format, unit, id string) {
	type field struct{ name, value string }
	fields := []field{{"unit", unit}}
	if id != "" {
		fields = append(fields, field{"invocation_id", id})
	}
	var b strings.Builder
	for i, fl := range fields {
		name, _ := json.Marshal(fl.name)
		value, _ := json.Marshal(fl.value)
		switch {
		case format == "pretty" && i == 0:
			b.WriteString("{\n")
		case format == "pretty":
			b.WriteString(",\n")
		case i == 0:
			b.WriteString("{")
		default:
			b.WriteString(",")
		}
		if format == "pretty" {
			fmt.Fprintf(&b, "\t%s : %s", name, value)
		} else {
			fmt.Fprintf(&b, "%s:%s", name, value)
		}
	}
	if format == "pretty" {
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	io.WriteString(w, b.String())
}

// mode is the start job's mode: --job-mode's, or systemd-run's "fail".
func (f *runFlags) mode() string {
	if f.jobMode == "" {
		return "fail"
	}
	return f.jobMode
}

// selfPidfdID returns the ID of a pidfd of this process, as systemd-run
// 257 names its units after (pidref_acquire_pidfd_id): the inode number
// of the pidfd, when pidfds live on pidfs (Linux 6.9 and later), where
// the number identifies the process for the boot; ok is false otherwise.
var selfPidfdID = sync.OnceValues(func() (uint64, bool) {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	const pidfsMagic = 0x50494446
	var sfs unix.Statfs_t
	var st unix.Stat_t
	if unix.Fstatfs(fd, &sfs) != nil || sfs.Type != pidfsMagic || unix.Fstat(fd, &st) != nil {
		return 0, false
	}
	return st.Ino, true
})
