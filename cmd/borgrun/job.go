package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

// jobFlags are the options shared by schedule and now: what runs and how
// the service that runs it is set up.
type jobFlags struct {
	name       string
	inhibit    string
	priority   string
	hardening  string
	writable   []string
	relax      []string
	passphrase string
	credential string
	noNetWait  bool
	managerFlags
	properties  []string
	environment []string
	onFailure   string
	onSuccess   string
	credentials []string
	hostFlags
	fs *pflag.FlagSet
}

func (j *jobFlags) add(fs *pflag.FlagSet) {
	j.fs = fs
	fs.StringVar(&j.name, "name", "", "job name; units are borgrun-NAME.* (default: borgmatic, or the command's base name)")
	fs.StringVar(&j.priority, "priority", "background", "CPU and IO priority: background (Nice=19, batch, IO best-effort 7), idle, normal")
	fs.StringVar(&j.inhibit, "inhibit", "block", "block sleep and shutdown while the backup runs: block|no")
	fs.StringVar(&j.hardening, "hardening", "default", "sandboxing profile: default|strict|off")
	fs.StringArrayVar(&j.relax, "relax", nil, "loosen the profile for what the job needs: known-hosts (writable ~/.ssh/known_hosts), wx (no MemoryDenyWriteExecute), snapshots (CAP_SYS_ADMIN, mounts, block devices) (repeatable or comma-separated)")
	fs.StringArrayVar(&j.writable, "writable", nil, "also make this absolute PATH writable under the sandbox, creating it as a directory if missing (repeatable)")
	fs.StringVar(&j.passphrase, "passphrase-file", "", "give borg the passphrase in this absolute FILE, as a systemd credential (never in the unit, environment or argv)")
	fs.StringVar(&j.credential, "passphrase-credential", "", "like --passphrase-file, for an absolute FILE made by systemd-creds encrypt --name=borg-passphrase (LoadCredentialEncrypted=)")
	fs.StringVar(&j.onFailure, "on-failure", "", "run COMMAND (one string, split as systemd splits ExecStart=) when a run fails, in a unit of its own (OnFailure=); it gets MONITOR_SERVICE_RESULT, MONITOR_EXIT_STATUS, MONITOR_INVOCATION_ID, ... and BORGRUN_JOB")
	fs.StringVar(&j.onSuccess, "on-success", "", "run COMMAND (as --on-failure) when a run succeeds (OnSuccess=)")
	fs.StringArrayVar(&j.credentials, "credential", nil, "hand the command the absolute FILE as the systemd credential NAME (NAME=FILE, LoadCredential=); -E VAR=%d/NAME gives its path (repeatable)")
	fs.BoolVar(&j.noNetWait, "no-network-wait", false, "do not order the run after network-online.target")
	fs.StringArrayVarP(&j.properties, "property", "p", nil, "set a service property NAME=VALUE, as systemd-run -p (repeatable; wins over the defaults)")
	fs.StringArrayVarP(&j.environment, "setenv", "E", nil, "set an environment variable NAME=VALUE for the command; a bare NAME copies it from here (repeatable)")
	addManagerFlags(fs, &j.managerFlags)
	j.hostFlags.add(fs)
}

// managerFlags choose the manager and how to authenticate to it.
type managerFlags struct {
	user          bool
	noAskPassword bool
}

// addManagerFlags adds --user and --system, which choose the manager, and
// --no-ask-password.
func addManagerFlags(fs *pflag.FlagSet, m *managerFlags) {
	fs.BoolVar(&m.user, "user", false, "talk to the calling user's service manager")
	fs.Func("system", "talk to the system manager (the default)", func(string) error { m.user = false; return nil })
	fs.Lookup("system").NoOptDefVal = "true"
	fs.BoolVar(&m.noAskPassword, "no-ask-password", false, "never have polkit ask for a password; fail instead")
}

// dialOptions returns how to reach the manager: the system one, or the
// user's with --user; polkit may ask unless --no-ask-password.
func (e *env) dialOptions(m managerFlags) transient.DialOptions {
	d := e.dial
	if m.user {
		d.Manager = transient.User
	}
	d.AskPassword = !m.noAskPassword
	return d
}

// connect dials the manager d names. When polkit may ask (AskPassword),
// it first starts a polkit agent on the terminal, as systemd-run does.
func (e *env) connect(d transient.DialOptions) (*transient.Conn, error) {
	if d.AskPassword && d.Manager == transient.System && d.Stream == nil && d.Address == "" {
		e.openPolkitAgent()
	}
	return transient.Dial(e.ctx, d)
}

// newFlagSet returns a flag set that reports errors (we print them) and
// stops at the first non-flag argument, so COMMAND's own flags are kept.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(false)
	fs.SortFlags = false
	return fs
}

// parse parses args into fs, turning pflag's errors into usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// parseSpan parses a span flag's value with systemd's rules.
func parseSpan(cmd, flag, value string) (time.Duration, error) {
	us, err := props.ParseTimespan(value)
	if err != nil || us == math.MaxUint64 || us > uint64(math.MaxInt64/int64(time.Microsecond)) {
		return 0, usagef("%s: --%s %q: want a time span such as 30s, 5min, 1h 30min or 0", cmd, flag, value)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// job builds the job from the shared flags and the command line after
// the flags, resolving the command as systemd-run does (argv[0] made
// absolute with the caller's PATH). It validates everything, including
// every -p assignment, before anything is sent. The sandbox it derived is
// returned too (nil with --hardening=off, and with -H, where each host's
// is derived from its own files).
//
// For remote hosts (-H) nothing is resolved here, as systemd-run -H does
// not: a bare command name is left to the remote manager's search path
// and a path must be absolute; paths named by flags are on the remote
// host and are not checked here.
func (e *env) job(cmd string, j *jobFlags, argv []string) (*backup.Job, *backup.Sandbox, error) {
	var err error
	if j.targets, err = parseHosts(cmd, j.hosts, j.machines, j.parallel, j.user); err != nil {
		return nil, nil, err
	}
	remote := len(j.targets) > 0
	if remote && len(j.writable) > 0 {
		return nil, nil, usagef("%s: --writable with -H: the path is on the remote host, which borgrun does not inspect; use -p ReadWritePaths=PATH", cmd)
	}
	switch {
	case remote && len(argv) == 0:
		argv = []string{"borgmatic"}
	case remote:
		if strings.Contains(argv[0], "/") && !filepath.IsAbs(argv[0]) {
			return nil, nil, usagef("%s: command %q: with -H, give an absolute path or a bare name the remote manager finds", cmd, argv[0])
		}
	case len(argv) == 0:
		path, err := e.lookPath("borgmatic")
		if err != nil {
			return nil, nil, usagef("%s: no command given and borgmatic not found in PATH; give one after --", cmd)
		}
		argv = []string{path}
	default:
		path, err := e.lookPath(argv[0])
		if err != nil {
			return nil, nil, usagef("%s: command %q not found or not executable", cmd, argv[0])
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, nil, usagef("%s: command %q: %v", cmd, argv[0], err)
		}
		argv = append([]string{abs}, argv[1:]...)
	}
	name := j.name
	if !j.fs.Changed("name") {
		name = "borgmatic"
		if base := filepath.Base(argv[0]); backup.ValidName(base) == nil {
			name = base
		}
	}
	if err := backup.ValidName(name); err != nil {
		return nil, nil, usagef("%s: --name: %v", cmd, err)
	}
	b := &backup.Job{Name: name, Command: argv, NetworkWait: !j.noNetWait}
	switch p := backup.Priority(j.priority); p {
	case backup.Background, backup.Idle, backup.Normal:
		b.Priority = p
	default:
		return nil, nil, usagef("%s: --priority %q: want background, idle or normal", cmd, j.priority)
	}
	switch j.inhibit {
	case "block":
		if remote {
			b.Inhibitor = "systemd-inhibit"
			break
		}
		inh, err := e.lookPath("systemd-inhibit")
		if err != nil {
			return nil, nil, usagef("%s: --inhibit=block needs systemd-inhibit, not found in PATH (use --inhibit=no)", cmd)
		}
		b.Inhibitor = inh
	case "no":
	default:
		return nil, nil, usagef("%s: --inhibit %q: want block or no", cmd, j.inhibit)
	}
	profile, err := backup.ParseProfile(j.hardening)
	if err != nil {
		return nil, nil, usagef("%s: --hardening: %v", cmd, err)
	}
	if profile == backup.ProfileOff && len(j.writable) > 0 {
		return nil, nil, usagef("%s: --writable has no effect with --hardening=off", cmd)
	}
	relax, err := backup.ParseRelaxations(j.relax)
	if err != nil {
		return nil, nil, usagef("%s: --relax: %v", cmd, err)
	}
	if profile == backup.ProfileOff && len(relax) > 0 {
		return nil, nil, usagef("%s: --relax has no effect with --hardening=off", cmd)
	}
	for _, arg := range j.environment {
		kv, err := props.ParseSetenv(arg, os.LookupEnv)
		if err != nil {
			return nil, nil, usagef("%s: --setenv %q: %v", cmd, arg, err)
		}
		b.Environment = append(b.Environment, kv)
	}
	for _, h := range []struct {
		flag, cmdline string
		argv          *[]string
	}{{"on-failure", j.onFailure, &b.OnFailure}, {"on-success", j.onSuccess, &b.OnSuccess}} {
		if !j.fs.Changed(h.flag) {
			continue
		}
		argv, err := e.hookCommand(remote, h.cmdline)
		if err != nil {
			return nil, nil, usagef("%s: --%s %q: %v", cmd, h.flag, h.cmdline, err)
		}
		*h.argv = argv
	}
	for _, c := range j.credentials {
		name, file, ok := strings.Cut(c, "=")
		if !ok || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/:") {
			return nil, nil, usagef("%s: --credential %q: want NAME=FILE, NAME without \"/\" or \":\"", cmd, c)
		}
		if !filepath.IsAbs(file) {
			return nil, nil, usagef("%s: --credential %q: FILE must be an absolute path", cmd, c)
		}
		if fi, err := os.Stat(file); !remote && (err != nil || !fi.Mode().IsRegular()) {
			return nil, nil, usagef("%s: --credential %q: FILE must be an existing regular file", cmd, c)
		}
		b.Credentials = append(b.Credentials, backup.Credential{Name: name, File: file})
	}
	if j.user {
		b.RuntimeDir = userRuntimeDir()
	}
	// Names and syntax now, for any systemd props knows; whether this
	// manager's version has them, once connected (checkJob).
	if _, err := props.ParseAllFor(props.NewestVersion, props.Service, j.properties); err != nil {
		return nil, nil, usagef("%s: -p: %v", cmd, err)
	}
	b.ServiceProperties = j.properties
	if err := b.CheckSecrets(); err != nil {
		return nil, nil, secretUsage(cmd, err)
	}
	var sb *backup.Sandbox
	switch {
	case profile == backup.ProfileOff:
	case remote:
		// Derived on each host, from its files (hostHardening).
		j.remoteProfile = profile
		j.remoteRelax = relax
	default:
		sb, err = e.sandbox(profile, relax, b, j)
		if err != nil {
			return nil, nil, usagef("%s: --hardening=%s: %v", cmd, profile, err)
		}
		b.Sandbox = sb // rendered for each manager's version when encoded
	}
	if j.passphrase != "" && j.credential != "" {
		return nil, nil, usagef("%s: --passphrase-file and --passphrase-credential: give one, not both", cmd)
	}
	for _, pf := range []struct {
		flag, file string
		assign     func(string) []string
	}{
		{"passphrase-file", j.passphrase, backup.PassphraseAssignments},
		{"passphrase-credential", j.credential, backup.EncryptedPassphraseAssignments},
	} {
		if pf.file == "" {
			continue
		}
		if !filepath.IsAbs(pf.file) {
			return nil, nil, usagef("%s: --%s %q: must be an absolute path", cmd, pf.flag, pf.file)
		}
		if fi, err := os.Stat(pf.file); !remote && (err != nil || !fi.Mode().IsRegular()) {
			return nil, nil, usagef("%s: --%s %q: must be an existing regular file", cmd, pf.flag, pf.file)
		}
		b.Hardening = append(b.Hardening, pf.assign(pf.file)...)
	}
	return b, sb, nil
}

// sandbox derives the job's sandbox on this machine (see
// backup.DeriveLocalSandbox).
func (e *env) sandbox(profile backup.Profile, relax []backup.Relaxation, b *backup.Job, j *jobFlags) (*backup.Sandbox, error) {
	return backup.DeriveLocalSandbox(e.ctx, backup.SandboxOptions{Profile: profile, Name: b.Name, Command: b.Command,
		Environment: b.Environment, Writable: j.writable, Relax: relax}, j.user)
}

// hostHardening derives b's sandbox for host h from h's own files (see
// backup.DeriveRemoteSandbox), as job does for the local manager, and
// returns it (nil without one).
func (e *env) hostHardening(h transient.Host, b *backup.Job, j *jobFlags) (*backup.Sandbox, error) {
	if j.remoteProfile == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(e.ctx, remoteDeriveTimeout)
	defer cancel()
	sb, err := backup.DeriveRemoteSandbox(ctx, h, e.ssh, backup.SandboxOptions{Profile: j.remoteProfile,
		Name: b.Name, Command: b.Command, Environment: b.Environment, Relax: j.remoteRelax})
	if err != nil {
		return nil, fmt.Errorf("--hardening=%s: %w", j.remoteProfile, err)
	}
	b.Sandbox = sb // rendered for the host's systemd version when encoded
	return sb, nil
}

// remoteDeriveTimeout bounds reading a host's configuration over ssh.
const remoteDeriveTimeout = time.Minute

// checkJob checks b for the systemd version of the manager c talks to
// (with its sandbox as rendered for that version: the protections it has)
// and, for schedule, as a schedule, before anything is sent, and returns
// that version. What that manager's
// systemd-run would refuse is a usage error: exit status 2, nothing
// created.
func (e *env) checkJob(cmd string, c *transient.Conn, b *backup.Job) (props.Version, error) {
	v, err := c.Version(e.ctx)
	if err != nil {
		return 0, err
	}
	check := b.Check
	if cmd == "schedule" {
		check = b.CheckSchedule
	}
	if err := check(v); err != nil {
		return 0, secretUsage(cmd, err)
	}
	return v, nil
}

// secretUsage is the usage error for err, a refusal of the job; for a
// secret in the environment it says, on one line, the safe way to pass it.
func secretUsage(cmd string, err error) error {
	var se *backup.SecretError
	if !errors.As(err, &se) {
		return usagef("%s: %v", cmd, err)
	}
	how := "--credential NAME=FILE, which the command reads from the file %d/NAME (e.g. -E RESTIC_PASSWORD_FILE=%d/NAME)"
	if strings.HasPrefix(se.Name, "BORG_") {
		how = "--passphrase-file FILE (or --passphrase-credential FILE)"
	}
	return usagef("%s: environment %s: a secret in a unit's environment can be read by every local user (systemctl show); use %s", cmd, se.Name, how)
}

// hookCommand splits a hook's command line as systemd splits ExecStart=
// and makes its program absolute with the caller's PATH, as for the job's
// command (with -H, a bare name is left to the remote manager).
func (e *env) hookCommand(remote bool, cmdline string) ([]string, error) {
	argv, err := props.SplitArgv(cmdline)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("no command")
	}
	switch {
	case remote && strings.Contains(argv[0], "/") && !filepath.IsAbs(argv[0]):
		return nil, errors.New("with -H, give an absolute path or a bare name the remote manager finds")
	case remote:
		return argv, nil
	}
	path, err := e.lookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("command %q not found or not executable", argv[0])
	}
	if argv[0], err = filepath.Abs(path); err != nil {
		return nil, err
	}
	return argv, nil
}

// userRuntimeDir is the calling user's runtime directory, where the user
// manager makes credentials directories: $XDG_RUNTIME_DIR, or
// /run/user/UID.
func userRuntimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	return "/run/user/" + strconv.Itoa(os.Getuid())
}

// logindAnswer is whether the manager's machine has systemd-logind, as
// askLogind asked it (asked false: b needs no inhibitor, nothing asked).
type logindAnswer struct {
	asked, ok bool
	err       error
}

// askLogind asks, only if b runs under systemd-inhibit, whether the
// manager's machine has systemd-logind, in a goroutine of wg, so that the
// question travels with the others the caller sends (one round trip for
// all). The answer is valid once wg is done; pass it to checkInhibitor.
func (e *env) askLogind(c *transient.Conn, b *backup.Job, wg *sync.WaitGroup) *logindAnswer {
	a := &logindAnswer{}
	if b.Inhibitor == "" {
		return a
	}
	a.asked = true
	wg.Go(func() { a.ok, a.err = c.HasLogind(e.ctx) })
	return a
}

// checkInhibitor drops b's systemd-inhibit wrapper, with a notice, when
// the answer a says the manager's machine has no logind to take the lock:
// the wrapper would make every run fail. An answer that could not be read
// keeps it.
func (e *env) checkInhibitor(b *backup.Job, a *logindAnswer) {
	if a.asked && a.err == nil && !a.ok {
		fmt.Fprintln(e.stderr, "borgrun: notice: no systemd-logind on this machine; running without systemd-inhibit (sleep and shutdown are not blocked)")
		b.Inhibitor = ""
	}
}
