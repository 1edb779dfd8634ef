package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
)

// Priority is how politely a backup competes for CPU and IO.
type Priority string

const (
	// Background: Nice=19, CPU batch scheduling, IO best-effort at the
	// lowest level (7). The default: the backup yields, but never starves.
	Background Priority = "background"
	// Idle: CPU and IO idle classes. The backup runs only when nothing
	// else wants the machine, and can be starved under constant load.
	Idle Priority = "idle"
	// Normal: no change.
	Normal Priority = "normal"
)

// Job describes a backup job: what to run and how. It renders to
// systemd-run style assignments ([Job.TimerAssignments],
// [Job.ServiceAssignments]), which [props] encodes exactly as
// systemd-run would, so the units sent and the unit-file text shown by
// --dry-run come from one source. The zero value of every field but Name
// and Command means "off".
type Job struct {
	// Name is the job's name; its units are borgrun-NAME.timer and
	// borgrun-NAME.service. See [ValidName].
	Name string
	// Command is the argv to run; Command[0] must be an absolute path.
	Command []string

	// Calendars are OnCalendar specifications for the timer.
	Calendars []string
	// Persistent makes a run missed while the machine was off happen at
	// the next start (Persistent=true). It survives re-creation of the
	// timer because the stamp is keyed by the (stable) unit name.
	Persistent bool
	// RandomizedDelay spreads the start over this span. The offset is
	// fixed per machine and timer (FixedRandomDelay=yes), so a machine
	// that reboots daily is not starved of runs.
	RandomizedDelay time.Duration
	// Accuracy is the timer's AccuracySec= (0 keeps systemd's default).
	Accuracy time.Duration
	// BootDelay holds back a run that would start less than this long
	// after boot (e.g. a Persistent catch-up) until that much time has
	// passed; later runs are not delayed.
	BootDelay time.Duration

	// ACPowerOnly skips a run unless the machine is on AC power
	// (ConditionACPower=true on the service, never on the timer).
	ACPowerOnly bool
	// NetworkWait orders the run after network-online.target and pulls
	// it in (Wants= and After=).
	NetworkWait bool
	// Priority sets CPU and IO scheduling.
	Priority Priority
	// Inhibitor is the absolute path of systemd-inhibit; when set, the
	// command runs under it, blocking sleep and shutdown while it runs.
	Inhibitor string
	// Environment holds NAME=VALUE pairs for the service.
	Environment []string
	// Sandbox, when set, is the derived sandbox. Its assignments
	// ([Sandbox.Assignments], with the ExecStartPre= lines it needs) come
	// after the defaults, rendered for the systemd version the units are
	// encoded for ([Job.Service]).
	Sandbox *Sandbox
	// Hardening holds further assignments of the same kind (the
	// passphrase's, say), after the sandbox's and before
	// ServiceProperties.
	Hardening []string

	// OnFailure and OnSuccess are commands (argv; [0] an absolute path or
	// a name the manager finds in its search path) run when a run of the
	// job fails (non-zero exit, killed, timed out, or a setup or
	// ExecStartPre= step failed) or succeeds. Each runs in a unit of its
	// own, [HookUnit], which the service names in OnFailure= or OnSuccess=
	// and which is created with it in one call; the manager passes it
	// MONITOR_SERVICE_RESULT, MONITOR_EXIT_CODE, MONITOR_EXIT_STATUS,
	// MONITOR_INVOCATION_ID and MONITOR_UNIT, and borgrun BORGRUN_JOB.
	// No sandbox: a hook needs the network and the journal.
	OnFailure []string
	OnSuccess []string

	// Credentials are files the manager hands the command at every start
	// as systemd credentials (LoadCredential=NAME:FILE), in the directory
	// [Job.CredentialsDir]; an Environment value that starts with "%d/"
	// names a file there (see [Job.ServiceAssignments]).
	Credentials []Credential
	// RuntimeDir is the manager's runtime directory, under which it makes
	// each service's credentials directory: "" for the system manager
	// (/run), the user's $XDG_RUNTIME_DIR for a user manager.
	RuntimeDir string

	// ServiceProperties and TimerProperties are extra assignments
	// (systemd-run's -p and --timer-property), applied after the
	// defaults, so they win.
	ServiceProperties []string
	TimerProperties   []string
}

// Credential is a file handed to the command as a systemd credential.
type Credential struct {
	Name string // the credential's name: its file name in the credentials directory
	File string // absolute path of the file the manager reads at each start
}

// Hook is a kind of hook: when it runs.
type Hook string

const (
	HookFailure Hook = "on-failure" // after a run that failed
	HookSuccess Hook = "on-success" // after a run that succeeded
)

// hookKinds are the kinds of hook, in the order their units are created.
var hookKinds = []Hook{HookFailure, HookSuccess}

// HookKinds returns the kinds of hook there are, in the order their
// units are created (a new slice each call).
func HookKinds() []Hook { return slices.Clone(hookKinds) }

// HookUnit returns the name of the unit that runs the hook of kind for
// service (the job's scheduled service or its now service):
// STEM@on-failure.service or STEM@on-success.service. A job name holds no
// "@", so no job's units can have such a name.
func HookUnit(service string, kind Hook) string {
	return strings.TrimSuffix(service, ".service") + "@" + string(kind) + ".service"
}

// hook returns the command of the hook of kind (nil if none).
func (b *Job) hook(kind Hook) []string {
	if kind == HookSuccess {
		return b.OnSuccess
	}
	return b.OnFailure
}

// HookTimeout bounds a hook's run: a hung notification must not stay
// running (and so swallow the next run's hook) for ever.
const HookTimeout = 10 * time.Minute

// HookAssignments returns the settings of the unit that runs the hook of
// kind for service, as Name=Value assignments (nil if b has no such
// hook). The unit is a plain oneshot service without a sandbox, as the
// hook needs the network (a ping, mail) and the journal (the failed run's
// lines: journalctl _SYSTEMD_INVOCATION_ID=$MONITOR_INVOCATION_ID). It
// is collected when it is no longer running and the service that names it
// is gone, even if it failed.
func (b *Job) HookAssignments(kind Hook, service string) []string {
	cmd := b.hook(kind)
	if len(cmd) == 0 {
		return nil
	}
	return []string{
		"Description=borgrun backup " + b.Name + ": " + string(kind) + " hook of " + service + ": " + strings.Join(cmd, " "),
		"Type=oneshot",
		"CollectMode=inactive-or-failed",
		"TimeoutStartSec=" + spanValue(HookTimeout),
		"Environment=" + props.Quote("BORGRUN_JOB="+b.Name),
		"ExecStart=" + props.QuoteArgv(cmd),
	}
}

// HookUnits returns b's hook units for service, encoded for a manager of
// systemd version v, as auxiliary units to create with the service.
func (b *Job) HookUnits(v props.Version, service string) ([]transient.AuxUnit, error) {
	var aux []transient.AuxUnit
	for _, k := range hookKinds {
		a := b.HookAssignments(k, service)
		if a == nil {
			continue
		}
		ps, err := encode(v, props.Service, a)
		if err != nil {
			return nil, fmt.Errorf("%s hook: %w", k, err)
		}
		aux = append(aux, transient.AuxUnit{Name: HookUnit(service, k), Properties: ps})
	}
	return aux, nil
}

// CredentialsDir returns the directory in which the manager puts the
// credentials of unit: /run/credentials/UNIT for the system manager,
// $XDG_RUNTIME_DIR/credentials/UNIT for a user manager. (The manager
// does not expand the specifier %d in units made over D-Bus, so borgrun
// writes the path itself.)
func (b *Job) CredentialsDir(unit string) string {
	root := b.RuntimeDir
	if root == "" {
		root = "/run"
	}
	return root + "/credentials/" + unit
}

// SecretName reports whether an environment variable called name holds,
// by its name, a secret: a password, passphrase, token, secret or private
// key (BORG_PASSPHRASE, RESTIC_PASSWORD, AWS_SECRET_ACCESS_KEY,
// GITHUB_TOKEN, ...). A name that says the value is where to find the
// secret (ending in _FILE, _FD, _COMMAND, _CMD, _PATH, _DIR or
// _DIRECTORY, and BORG_PASSCOMMAND) is not one; nor is one that names
// credentials, which are files (GOOGLE_APPLICATION_CREDENTIALS). The
// environment of a unit can be read by every local user (systemctl
// show), so [Job.Check] refuses these.
func SecretName(name string) bool {
	n := strings.ToUpper(name)
	for _, safe := range []string{"_FILE", "_FD", "_COMMAND", "_CMD", "_PATH", "_DIR", "_DIRECTORY"} {
		if strings.HasSuffix(n, safe) {
			return false
		}
	}
	for _, word := range []string{"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "PRIVATE_KEY", "API_KEY"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return n == "TOKEN" || strings.HasSuffix(n, "_TOKEN") || strings.Contains(n, "_TOKEN_")
}

// SecretError is the error of [Job.Check] for an environment variable
// whose name says it holds a secret ([SecretName]). It wraps [ErrInvalid].
type SecretError struct {
	Name string // the variable's name
}

func (e *SecretError) Error() string {
	return fmt.Sprintf("environment %s: a secret in a unit's environment can be read by every local user (systemctl show); hand it over as a credential file (LoadCredential=) that the command reads", e.Name)
}

func (e *SecretError) Unwrap() error { return ErrInvalid }

// CheckSecrets returns a [*SecretError] for the first environment
// variable of j, in Environment or in an Environment= of
// ServiceProperties, whose name says it holds a secret ([SecretName]).
// [Job.Check] includes it.
func (j *Job) CheckSecrets() error {
	env := j.Environment
	for _, a := range j.ServiceProperties {
		if !strings.HasPrefix(a, "Environment=") {
			continue
		}
		ps, err := props.Parse(props.Service, a)
		if err != nil {
			continue // Check reports it
		}
		for _, p := range ps {
			vs, _ := p.Value.Value().([]string)
			env = append(env[:len(env):len(env)], vs...)
		}
	}
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); SecretName(name) {
			return &SecretError{Name: name}
		}
	}
	return nil
}

// UnitPrefix starts the name of every unit borgrun creates.
const UnitPrefix = "borgrun-"

// TimerUnit returns the name of the job's timer.
func (b *Job) TimerUnit() string { return UnitPrefix + b.Name + ".timer" }

// ServiceUnit returns the name of the job's scheduled service.
func (b *Job) ServiceUnit() string { return UnitPrefix + b.Name + ".service" }

// NowUnit returns the name of the service that runs the job at once.
func (b *Job) NowUnit() string { return UnitPrefix + b.Name + "-now.service" }

// ValidName reports whether name can name a job: 1 to 64 ASCII letters,
// digits, '-', '_' and '.', starting with a letter or digit. That keeps
// every derived unit name valid and unescaped.
func ValidName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("name %q: must be 1 to 64 characters", name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-' || r == '_' || r == '.':
			if i == 0 {
				return fmt.Errorf("name %q: must start with a letter or digit, not %q", name, r)
			}
		default:
			return fmt.Errorf("name %q: character %q not allowed (letters, digits, '-', '_' and '.' are)", name, r)
		}
	}
	return nil
}

// ErrInvalid is wrapped by the errors of [Job.Check] and
// [Job.CheckSchedule]: the job, as defined, cannot run or cannot be
// scheduled. Nothing was sent to a manager.
var ErrInvalid = errors.New("invalid job")

// invalidf returns an error wrapping [ErrInvalid] whose text is the
// formatted message alone.
func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

// Check reports what makes j unfit to run at all on a manager of systemd
// version v, as an error wrapping [ErrInvalid] that names the bad field or
// value: an invalid name (see [ValidName]), no command, an unknown
// priority, an environment entry that is not NAME=VALUE, an environment
// variable (in Environment or an Environment= of ServiceProperties) whose
// name says it holds a secret (a [*SecretError]), a credential without a
// valid name or absolute file, a hook command that is empty, or an
// assignment in ServiceProperties, TimerProperties or Hardening that props
// does not accept for v.
func (j *Job) Check(v props.Version) error {
	if err := ValidName(j.Name); err != nil {
		return &invalidError{err.Error()}
	}
	if len(j.Command) == 0 || j.Command[0] == "" {
		return invalidf("job %q: no command", j.Name)
	}
	switch j.Priority {
	case "", Background, Idle, Normal:
	default:
		return invalidf("priority %q: want %s, %s or %s", j.Priority, Background, Idle, Normal)
	}
	for _, kv := range j.Environment {
		if !strings.Contains(kv, "=") {
			return invalidf("environment %q: want NAME=VALUE", kv)
		}
		if _, err := props.ParseSetenv(kv, nil); err != nil {
			return &invalidError{err.Error()}
		}
	}
	for _, c := range j.Credentials {
		if c.Name == "" || c.Name == "." || c.Name == ".." || strings.ContainsAny(c.Name, "/:") {
			return invalidf("credential %q: want a name without \"/\" or \":\"", c.Name)
		}
		if !filepath.IsAbs(c.File) {
			return invalidf("credential %s: file %q: must be an absolute path", c.Name, c.File)
		}
	}
	for _, k := range hookKinds {
		if cmd := j.hook(k); cmd != nil && (len(cmd) == 0 || cmd[0] == "") {
			return invalidf("%s hook: no command", k)
		}
	}
	if _, err := j.Service(v, "exec"); err != nil {
		return &invalidError{err.Error()}
	}
	if err := j.CheckSecrets(); err != nil {
		return err
	}
	if _, err := j.HookUnits(v, j.ServiceUnit()); err != nil {
		return &invalidError{err.Error()}
	}
	if _, err := j.Timer(v); err != nil {
		return &invalidError{err.Error()}
	}
	return nil
}

// CheckSchedule is [Job.Check] plus what makes j unfit to be scheduled
// by [Schedule]: no calendar, a calendar that systemd would refuse, or an
// argument of the command holding '$' or ';'. systemd 252 writes those
// two characters into a transient unit's file escaped in a way that its
// next daemon-reload (apt runs one on upgrades) reads back literally: the
// schedule would break later, silently.
func (j *Job) CheckSchedule(v props.Version) error {
	if err := j.Check(v); err != nil {
		return err
	}
	if len(j.Calendars) == 0 {
		return invalidf("job %q: no calendar", j.Name)
	}
	for _, c := range j.Calendars {
		if _, err := props.ParseCalendar(c); err != nil {
			return &invalidError{err.Error()}
		}
	}
	for _, a := range j.Command[1:] {
		if strings.ContainsAny(a, "$;") {
			return invalidf("argument %q: a scheduled command cannot hold \"$\" or \";\" (systemd 252 garbles them on its next daemon-reload); put the command in a script", a)
		}
	}
	for _, k := range hookKinds {
		for _, a := range j.hook(k) {
			if strings.ContainsAny(a, "$;") {
				return invalidf("%s hook: argument %q: a scheduled hook cannot hold \"$\" or \";\" (systemd 252 garbles them on its next daemon-reload); put the hook in a script", k, a)
			}
		}
	}
	return nil
}

// QuietSyslog keeps borgmatic from logging every line twice in a
// scheduled run: the service's own output already goes to the journal,
// tagged borgmatic (SyslogIdentifier=), and borgmatic would also send its
// lines to syslog. Unless the command chooses its own logging
// (--syslog-verbosity or --log-file), a borgmatic command gets
// --log-file /dev/null as its first option, which borgmatic documents as
// turning its syslog output off. Other commands are left as they are.
func (j *Job) QuietSyslog() {
	if len(j.Command) == 0 || filepath.Base(j.Command[0]) != "borgmatic" {
		return
	}
	for _, a := range j.Command[1:] {
		for _, opt := range []string{"--syslog-verbosity", "--log-file"} {
			if a == opt || strings.HasPrefix(a, opt+"=") {
				return
			}
		}
	}
	j.Command = append([]string{j.Command[0], "--log-file", "/dev/null"}, j.Command[1:]...)
}

// Description is the units' Description=.
func (b *Job) Description() string {
	return "borgrun backup " + b.Name + ": " + strings.Join(b.Command, " ")
}

// TimerAssignments returns the timer's settings as Name=Value assignments.
func (b *Job) TimerAssignments() []string {
	a := []string{"Description=" + b.Description()}
	for _, c := range b.Calendars {
		a = append(a, "OnCalendar="+c)
	}
	a = append(a, "Persistent="+yesno(b.Persistent))
	a = append(a, "RandomizedDelaySec="+spanValue(b.RandomizedDelay))
	if b.RandomizedDelay > 0 {
		a = append(a, "FixedRandomDelay=yes")
	}
	if b.Accuracy > 0 {
		a = append(a, "AccuracySec="+spanValue(b.Accuracy))
	}
	return append(a, b.TimerProperties...)
}

// unitFor returns the service unit of the given Type=: the scheduled one
// for "oneshot", the now one otherwise.
func (b *Job) unitFor(serviceType string) string {
	if serviceType == "oneshot" {
		return b.ServiceUnit()
	}
	return b.NowUnit()
}

// ServiceAssignments returns the settings of a service that runs the job,
// with the given Type= ("oneshot" for scheduled runs, [Job.ServiceUnit];
// "exec" for runs that are waited on, [Job.NowUnit]), as Name=Value
// assignments; the sandbox's for the version it was derived for
// ([Sandbox.Version]). The service names its hook units ([HookUnit]) in
// OnFailure= and OnSuccess=. An Environment value that starts with "%d/"
// has its "%d" replaced by the service's [Job.CredentialsDir], which the
// manager would not do.
func (b *Job) ServiceAssignments(serviceType string) []string {
	return b.serviceAssignments(0, serviceType)
}

// serviceAssignments is ServiceAssignments with the sandbox rendered for
// systemd version v (0: the sandbox's own).
func (b *Job) serviceAssignments(v props.Version, serviceType string) []string {
	unit := b.unitFor(serviceType)
	a := []string{"Description=" + b.Description(), "Type=" + serviceType}
	if len(b.OnFailure) > 0 {
		a = append(a, "OnFailure="+HookUnit(unit, HookFailure))
	}
	if len(b.OnSuccess) > 0 {
		a = append(a, "OnSuccess="+HookUnit(unit, HookSuccess))
	}
	if b.ACPowerOnly {
		a = append(a, "ConditionACPower=true")
	}
	if b.NetworkWait {
		a = append(a, "Wants=network-online.target", "After=network-online.target")
	}
	switch b.Priority {
	case Background:
		a = append(a, "Nice=19", "CPUSchedulingPolicy=batch", "IOSchedulingClass=best-effort", "IOSchedulingPriority=7")
	case Idle:
		a = append(a, "CPUSchedulingPolicy=idle", "IOSchedulingClass=idle")
	}
	// Every line of a backup's log matters; the journal shows the tool's
	// name, not systemd-inhibit's.
	a = append(a, "LogRateLimitIntervalSec=0", "SyslogIdentifier="+filepath.Base(b.Command[0]))
	for _, c := range b.Credentials {
		a = append(a, "LoadCredential="+c.Name+":"+c.File)
	}
	for _, e := range b.Environment {
		if name, val, _ := strings.Cut(e, "="); strings.HasPrefix(val, "%d/") {
			e = name + "=" + b.CredentialsDir(unit) + val[2:]
		}
		a = append(a, "Environment="+props.Quote(e))
	}
	if b.BootDelay > 0 {
		// Sleep until BootDelay after boot, if not yet there: the seconds
		// left (BootDelay - uptime), unless negative. Written without "$"
		// or ";", which systemd 252 escapes in the transient unit's file
		// in a way a daemon-reload reads back literally.
		secs := strconv.FormatInt(int64((b.BootDelay+time.Second-1)/time.Second), 10)
		a = append(a, "ExecStartPre="+props.QuoteArgv([]string{"/bin/sh", "-c",
			"cut -d. -f1 /proc/uptime | xargs -I{} expr " + secs + " - {} | grep -v -- - | xargs -r sleep"}))
	}
	argv := b.Command
	if b.Inhibitor != "" {
		argv = append([]string{b.Inhibitor,
			"--what=sleep:shutdown", "--mode=block", "--who=borgrun",
			"--why=borgrun backup " + b.Name + " is running"}, b.Command...)
	}
	if b.Sandbox != nil {
		sb := *b.Sandbox
		if v != 0 {
			sb.Version = v
		}
		a = append(a, sb.Assignments()...)
	}
	a = append(a, b.Hardening...)
	a = append(a, "ExecStart="+props.QuoteArgv(argv))
	return append(a, b.ServiceProperties...)
}

// Timer returns the timer's properties for a manager of systemd version v,
// encoded as that version's systemd-run encodes the same assignments.
func (b *Job) Timer(v props.Version) ([]transient.Property, error) {
	return encode(v, props.Timer, b.TimerAssignments())
}

// Service returns the service's properties for a manager of systemd
// version v, with the sandbox rendered for v (the protections v has; see
// [SandboxOptions.Version]); see [Job.ServiceAssignments].
func (b *Job) Service(v props.Version, serviceType string) ([]transient.Property, error) {
	return encode(v, props.Service, b.serviceAssignments(v, serviceType))
}

func encode(v props.Version, t props.UnitType, assignments []string) ([]transient.Property, error) {
	ps, err := props.ParseAllFor(v, t, assignments)
	if err != nil {
		return nil, err
	}
	out := make([]transient.Property, len(ps))
	for i, p := range ps {
		out[i] = transient.Property{Name: p.Name, Value: p.Value}
	}
	return out, nil
}

// Fingerprint identifies the scheduled pair's definition: equal
// fingerprints mean identical units. It travels in the service's
// environment as BORGRUN_SCHEDULE, so that re-running the same schedule can
// be recognised as a no-op.
func (b *Job) Fingerprint() string {
	h := sha256.New()
	// The sandbox as for the oldest version: the fingerprint is the
	// definition's, the same whichever manager runs it, so an upgraded
	// manager does not turn a re-run into a "different definition".
	parts := [][]string{b.TimerAssignments(), b.serviceAssignments(props.OldestVersion, "oneshot")}
	for _, k := range hookKinds {
		// Only hooks that exist: a job without hooks keeps the
		// fingerprint it had before hooks were, so that its schedule is
		// still "unchanged" after an upgrade of borgrun.
		if a := b.HookAssignments(k, b.ServiceUnit()); a != nil {
			parts = append(parts, a)
		}
	}
	for _, s := range parts {
		for _, a := range s {
			fmt.Fprintf(h, "%d:%s\n", len(a), a)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// FingerprintVar is the environment variable that carries [Job.Fingerprint].
const FingerprintVar = "BORGRUN_SCHEDULE"

// scheduled returns b with its fingerprint added to the service's
// environment: what [Conn.Schedule] creates.
func (b *Job) scheduled() *Job {
	s := *b
	s.Environment = append(s.Environment[:len(s.Environment):len(s.Environment)], FingerprintVar+"="+b.Fingerprint())
	return &s
}

// UnitFiles renders the scheduled pair as unit-file text (what --dry-run
// prints). Specifiers are escaped, since the transient units see none.
func (b *Job) UnitFiles() (timer, service string) {
	s := b.scheduled()
	return iniText("Timer", s.TimerAssignments()), iniText("Service", s.ServiceAssignments("oneshot"))
}

// HookUnitFiles renders the hook units of service as unit-file text (what
// --dry-run prints), in the order of hookKinds; none if b has no hooks.
func (b *Job) HookUnitFiles(service string) []UnitFile {
	var files []UnitFile
	for _, k := range hookKinds {
		if a := b.HookAssignments(k, service); a != nil {
			files = append(files, UnitFile{Name: HookUnit(service, k), Text: iniText("Service", a)})
		}
	}
	return files
}

// unitSection lists the assignment names that belong in [Unit].
var unitSection = map[string]bool{
	"Description": true, "Documentation": true, "Wants": true, "After": true, "Before": true,
	"Requires": true, "Requisite": true, "BindsTo": true, "PartOf": true, "Conflicts": true,
	"OnFailure": true, "OnSuccess": true, "RequiresMountsFor": true, "DefaultDependencies": true,
	"CollectMode": true, "StartLimitIntervalSec": true, "StartLimitBurst": true, "JobTimeoutSec": true,
}

func iniText(section string, assignments []string) string {
	var unit, own strings.Builder
	for _, a := range assignments {
		name, _, _ := strings.Cut(a, "=")
		line := strings.ReplaceAll(a, "%", "%%") + "\n"
		if unitSection[name] || strings.HasPrefix(name, "Condition") || strings.HasPrefix(name, "Assert") {
			unit.WriteString(line)
		} else {
			own.WriteString(line)
		}
	}
	return "[Unit]\n" + unit.String() + "\n[" + section + "]\n" + own.String()
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// spanValue renders d as a time span systemd parses back exactly.
func spanValue(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return props.FormatTimespan(uint64(d/time.Microsecond), 1)
}
