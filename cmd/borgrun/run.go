package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/spf13/pflag"
)

const usage = `borgrun runs backups as transient systemd units: no unit files, one
StartTransientUnit call per schedule.

Usage:
  borgrun schedule [options] [-- COMMAND [ARGS...]]   run COMMAND on a timer
  borgrun now [options] [-- COMMAND [ARGS...]]        run COMMAND now, wait, exit with its status
  borgrun list [--json] [--max-age DUR]               show the schedules, next and last runs, last successes
  borgrun check [NAME...] [--max-age DUR]             exit 1 naming each job that failed or is overdue (monitoring)
  borgrun logs NAME [-n N] [-f]                       the journal of the job's last run(s)
  borgrun remove NAME... | --all [--force]            stop and unload schedules
  borgrun export NAME... [--dir DIR]                  write schedules as unit files, to keep them across reboots
  borgrun run [OPTIONS...] COMMAND [ARGS...]          systemd-run 252, as a drop-in
  borgrun completion bash|zsh|fish                    print a shell completion script
  borgrun help [COMMAND]                              show a command's usage, options and examples
  borgrun --version

COMMAND defaults to the borgmatic found in PATH. Run "borgrun help COMMAND"
for a command's options and examples.

Every command but help and completion takes -H [USER@]HOST[:PORT]
(repeatable) to work on the system manager of each host over ssh (ssh HOST
systemd-stdio-bridge, as systemctl -H), at most --parallel N hosts at once;
see the README's Fleets.
`

// Exit statuses of borgrun itself (the command's own status is passed
// through by "now").
const (
	exitFailure = 1 // the manager refused, or something else went wrong
	exitUsage   = 2 // bad input: nothing was created
)

// signalCause is the cancellation cause main sets when a signal arrives.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "received " + s.sig.String() }

// signalExit reports whether e was stopped by a signal and, if so, the
// exit status a process that dies of it has: 128+N (130 for a signal
// that is not a syscall.Signal). This is not the status of the unit,
// which [transient.Result.ExitStatus] maps as systemd-run does.
func (e *env) signalExit() (int, bool) {
	var sc signalCause
	if !errors.As(context.Cause(e.ctx), &sc) {
		return 0, false
	}
	if s, ok := sc.sig.(syscall.Signal); ok {
		return 128 + int(s), true
	}
	return 130, true
}

// usageError is bad input: reported on one line, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// env is what a command needs from its surroundings.
type env struct {
	ctx            context.Context
	stdout, stderr io.Writer
	now            func() time.Time
	lookPath       func(string) (string, error)
	dial           transient.DialOptions
	agent          *exec.Cmd // the polkit agent, once started
	ssh            []string  // the ssh command for -H (sshCommand)
}

// run is borgrun with its arguments (without the program name); it returns
// the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, now: time.Now, lookPath: exec.LookPath, ssh: sshCommand()}
	return e.main(args)
}

func (e *env) main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	defer e.closePolkitAgent()
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "schedule":
		err = e.schedule(rest)
	case "now":
		var code int
		code, err = e.runNow(rest)
		if err == nil {
			return code
		}
	case "list":
		err = e.list(rest)
	case "remove":
		err = e.remove(rest)
	case "check":
		err = e.check(rest)
	case "logs":
		err = e.logs(rest)
	case "export":
		err = e.export(rest)
	case "run":
		var code int
		code, err = e.systemdRun(rest)
		if err == nil {
			return code
		}
	case "completion":
		err = e.completion(rest)
	case "__complete": // hidden: the completion scripts' candidates
		e.complete(rest)
	case "__man": // hidden: make install's man pages
		err = e.man(rest)
	case "help", "-h", "--help":
		err = e.help(rest)
	case "--version", "version":
		e.printVersion()
	default:
		err = usagef("unknown command %q (want schedule, now, list, check, logs, remove, export, run, completion, help)", cmd)
	}
	return e.report(err)
}

// report prints err on one line and returns the exit status it calls for.
// When borgrun was stopped by a signal, that is 128+N, and the line says
// what was left done: a call that changes the manager is never abandoned
// once sent, so the error tells what the manager did.
func (e *env) report(err error) int {
	var ue *usageError
	if code, ok := e.signalExit(); ok && !errors.As(err, &ue) {
		var sc signalCause
		errors.As(context.Cause(e.ctx), &sc)
		switch {
		case err == nil || errors.Is(err, pflag.ErrHelp):
		case errors.Is(err, context.Canceled) && !errors.Is(err, transient.ErrCreated) && err.Error() == context.Canceled.Error():
			fmt.Fprintf(e.stderr, "borgrun: interrupted (%v) before the manager was changed\n", sc.sig)
		default:
			fmt.Fprintf(e.stderr, "borgrun: interrupted (%v): %s\n", sc.sig, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return code
	}
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.Is(err, errProblems):
		return exitFailure // check printed them
	case errors.As(err, &ue):
		// One line, whatever the bad token holds.
		fmt.Fprintln(e.stderr, "borgrun:", strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(ue.msg))
		return exitUsage
	case errors.Is(err, transient.ErrInvalidArgs):
		// What the manager refuses as invalid (a value props does not
		// check) is bad input too: nothing was created. Its message names
		// the setting.
		fmt.Fprintln(e.stderr, "borgrun:", strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitUsage
	case errors.Is(err, transient.ErrInteractiveAuthorization):
		fmt.Fprintln(e.stderr, "borgrun:", strings.ReplaceAll(err.Error(), "\n", "; ")+" (polkit would ask for a password: run on a terminal without --no-ask-password, as root, or use --user)")
		return exitFailure
	case errors.Is(err, transient.ErrAccessDenied):
		fmt.Fprintln(e.stderr, "borgrun:", strings.ReplaceAll(err.Error(), "\n", "; ")+" (run as root, or use --user for your own service manager)")
		return exitFailure
	default:
		fmt.Fprintln(e.stderr, "borgrun:", strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitFailure
	}
}

// versionDialTimeout bounds --version's question to the manager.
const versionDialTimeout = 2 * time.Second

// printVersion prints borgrun's version and which systemd it speaks to:
// the system manager's version (the user manager's for a non-root caller
// without a system bus is not guessed at), and the property language
// borgrun speaks to it. A manager that does not answer is said so; that is
// no error.
func (e *env) printVersion() {
	fmt.Fprintln(e.stdout, versionLine)
	ctx, cancel := context.WithTimeout(e.ctx, versionDialTimeout)
	defer cancel()
	d := e.dial
	d.Timeout = versionDialTimeout
	c, err := transient.Dial(ctx, d)
	if err != nil {
		fmt.Fprintf(e.stdout, "manager: not reachable (%s); borgrun speaks systemd %d to %d\n", strings.ReplaceAll(err.Error(), "\n", "; "), props.OldestVersion, props.NewestVersion)
		return
	}
	defer c.Close()
	full, err := c.ManagerVersion(ctx)
	if err != nil {
		fmt.Fprintf(e.stdout, "manager: version unknown (%v)\n", err)
		return
	}
	v, err := c.Version(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(e.stdout, "manager: systemd %s, a version borgrun cannot read\n", full)
	case v > props.NewestVersion:
		fmt.Fprintf(e.stdout, "manager: systemd %d (%s), spoken to as systemd %d, the newest borgrun knows\n", v, full, props.NewestVersion)
	case v < props.OldestVersion:
		fmt.Fprintf(e.stdout, "manager: systemd %d (%s), older than systemd %d, the oldest borgrun knows\n", v, full, props.OldestVersion)
	default:
		fmt.Fprintf(e.stdout, "manager: systemd %d (%s)\n", v, full)
	}
}

func (e *env) help(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, usage)
		return nil
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		var names []string
		for _, c := range commands() {
			names = append(names, c.name)
		}
		return usagef("help: unknown command %q (want %s)", args[0], strings.Join(names, ", "))
	}
	if c.flags == nil {
		fmt.Fprint(e.stdout, c.help)
		return nil
	}
	e.printHelp(c.flags(), c.help)
	return nil
}

// printHelp prints text and fs's options. A switch (a flag that takes no
// value: a bool, or --system) is shown as plain --name: pflag 1.1 would
// print --name[=true|false] (for a bool Value that reports IsBoolFlag) or
// --name value[=true], so the options are listed from a copy of fs whose
// switches have a bool Value that does not.
func (e *env) printHelp(fs *pflag.FlagSet, text string) {
	shown := pflag.NewFlagSet(fs.Name(), pflag.ContinueOnError)
	shown.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		c := *f
		if f.NoOptDefVal == "true" {
			c.Value = switchValue{f.Value}
		}
		shown.AddFlag(&c)
	})
	fmt.Fprint(e.stdout, text, "\nOptions:\n", shown.FlagUsages())
}

// switchValue shows a switch in help as a bool flag without a value.
type switchValue struct{ pflag.Value }

func (switchValue) Type() string { return "bool" }
