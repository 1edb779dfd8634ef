package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// borgrun run --scope, --slice-inherit, --path-property and
// --socket-property, as systemd-run of the manager's version does them
// (src/run/run.c of 252.39, 254.26, 257.13 and 262).

// triggers counts the kinds of trigger units f asks for.
func (f *runFlags) triggers() int {
	n := 0
	for _, b := range []bool{f.withTimer, len(f.pathProperties) > 0, len(f.socketProperties) > 0} {
		if b {
			n++
		}
	}
	return n
}

// triggerSuffix is the suffix of f's trigger unit, "" if none: as
// systemd-run, a path trigger first, then a socket, then a timer.
func (f *runFlags) triggerSuffix() string {
	switch {
	case len(f.pathProperties) > 0:
		return ".path"
	case len(f.socketProperties) > 0:
		return ".socket"
	case f.withTimer:
		return ".timer"
	}
	return ""
}

// slice is systemd-run's transient_cgroup_set_properties: the Slice=
// assignment (none, or one) for --slice and --slice-inherit. With
// --slice-inherit the caller's own slice, without ".slice", is the
// prefix; --slice=NAME is appended after a "-".
func (p *runPlan) slice() ([]string, error) {
	f := p.f
	name := ""
	if f.sliceInherit {
		own, err := ownSlice(f.userManager)
		if err != nil {
			return nil, fmt.Errorf("run: --slice-inherit: %w", err)
		}
		name = strings.TrimSuffix(own, ".slice")
	}
	if f.sliceSet && f.slice != "" {
		if name != "" {
			name += "-"
		}
		name += f.slice
	}
	if name == "" {
		return nil, nil
	}
	slice, n, err := props.MangleUnitName(name, ".slice", "as slice")
	if err != nil || props.UnitNameType(slice) != "slice" {
		what := "--slice"
		if f.sliceInherit {
			what = "--slice-inherit"
		}
		return nil, usagef("run: %s: %q is not a slice name", what, name)
	}
	if !f.quiet {
		p.notices = append(p.notices, n...)
	}
	return []string{"Slice=" + slice}, nil
}

// ownSlice is systemd's cg_pid_get_slice (cg_pid_get_user_slice with
// user) for this process: the right-most slice of the leading slices of
// its cgroup path in the unified hierarchy, relative to the cgroup of the
// manager (PID 1's, without /init.scope); "-.slice" if there is none. For
// the user manager, the slices below the user@.service unit count.
func ownSlice(user bool) (string, error) {
	self, err := cgroupPath("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	if root, err := cgroupPath("/proc/1/cgroup"); err == nil {
		root = strings.TrimSuffix(root, "/init.scope")
		if root != "" && root != "/" && (self == root || strings.HasPrefix(self, root+"/")) {
			self = self[len(root):]
		}
	}
	parts := strings.FieldsFunc(self, func(r rune) bool { return r == '/' })
	if user {
		// Skip the system's slices and the user@.service unit.
		i := 0
		for i < len(parts) && isSliceName(parts[i]) {
			i++
		}
		if i == len(parts) || !strings.HasPrefix(parts[i], "user@") || !strings.HasSuffix(parts[i], ".service") {
			return "", errors.New("this process is not under a user manager (user@.service)")
		}
		parts = parts[i+1:]
	}
	slice := "-.slice"
	for _, c := range parts {
		if !isSliceName(c) {
			break
		}
		slice = c
	}
	return slice, nil
}

// isSliceName reports whether a cgroup path component is a slice unit.
func isSliceName(c string) bool {
	return strings.HasSuffix(c, ".slice") && props.UnitNameType(c) == "slice" && props.ValidUnitName(c)
}

// cgroupPath reads the unified-hierarchy ("0::") path of a
// /proc/PID/cgroup file, or the name=systemd one of a legacy hierarchy.
func cgroupPath(file string) (string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	var legacy string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		id, rest, _ := strings.Cut(sc.Text(), ":")
		ctl, path, _ := strings.Cut(rest, ":")
		switch {
		case id == "0" && ctl == "":
			return path, nil
		case ctl == "name=systemd":
			legacy = path
		}
	}
	if legacy != "" {
		return legacy, sc.Err()
	}
	return "", fmt.Errorf("%s: no systemd cgroup", file)
}

// planScope plans a scope: systemd-run's transient_scope_set_properties
// without the PIDs, which startScope adds. The scope's -p assignments
// are parsed for a scope; --uid, --gid, --nice, --working-directory and
// -E apply to this process before it executes the command.
func (p *runPlan) planScope(common []string, uniqueName string) error {
	f := p.f
	var err error
	if p.serviceProps, err = p.encode(props.Scope, common...); err != nil {
		return err
	}
	if uniqueName != "" {
		// "Pin the object as least as long as we are around."
		p.serviceProps = append(p.serviceProps, transient.Property{Name: "AddRef", Value: dbus.MakeVariant(true)})
	}
	rest := slices.Clone(f.properties)
	if f.sendSIGHUP {
		rest = append(rest, "SendSIGHUP=yes")
	}
	slice, err := p.slice()
	if err != nil {
		return err
	}
	ps, err := p.encode(props.Scope, append(rest, slice...)...)
	if err != nil {
		return err
	}
	p.serviceProps = append(p.serviceProps, ps...)
	// 254..257 do not expand variables in a scope's command line by
	// default, and say so when the description has a "$" (unless
	// --expand-environment is given).
	if p.v >= props.V254 && p.v < props.V258 && !f.quiet && f.expandEnv < 0 {
		for _, a := range common {
			if d, ok := strings.CutPrefix(a, "Description="); ok && strings.Contains(d, "$") {
				p.warnings = append(p.warnings, "Scope command line contains environment variable, which is not expanded"+
					" by default for now, but will be expanded by default in the future."+
					" Use --expand-environment=yes/no to explicitly control it as needed.")
			}
		}
	}
	_, err = scopeCreds(f, p.v)
	return err
}

// planPathSocket plans a path or socket trigger (the one f asks for):
// systemd-run's transient_unit_set_properties for the unit type, with
// --path-property's or --socket-property's assignments.
func (p *runPlan) planPathSocket(common []string, uniqueName string) error {
	t, assignments := props.Path, p.f.pathProperties
	if len(p.f.socketProperties) > 0 {
		t, assignments = props.Socket, p.f.socketProperties
	}
	var err error
	if p.timerProps, err = p.encode(t, common...); err != nil {
		return err
	}
	ps, err := p.encode(t, assignments...)
	if err != nil {
		return err
	}
	p.timerProps = append(p.timerProps, ps...)
	return nil
}

// creds are what --uid and --gid make of this process in scope mode.
type creds struct {
	uid, gid int      // -1: unchanged
	groups   []int    // supplementary groups to set; nil: unchanged
	env      []string // HOME, SHELL, USER, LOGNAME for --uid
}

// scopeCreds resolves --uid and --gid for scope mode as systemd-run of
// version v does (get_user_creds, get_group_creds; from 262 also the
// supplementary groups): a user or group that does not resolve is a
// usage error, checked before anything is created.
func scopeCreds(f *runFlags, v props.Version) (creds, error) {
	c := creds{uid: -1, gid: -1}
	if a, ok := f.exec["Group"]; ok {
		_, name, _ := strings.Cut(a, "=")
		g, ok := lookupGroup(name)
		if !ok {
			return c, usagef("run: --gid %q: no such group", name)
		}
		c.gid = g
		if v >= props.V262 {
			c.groups = []int{}
		}
	}
	if a, ok := f.exec["User"]; ok {
		_, name, _ := strings.Cut(a, "=")
		u, ok := lookupUser(name)
		if !ok {
			return c, usagef("run: --uid %q: no such user", name)
		}
		if u.home != "" && u.home != "/" && strings.HasPrefix(u.home, "/") {
			c.env = append(c.env, "HOME="+u.home)
		}
		if u.shell != "" && strings.HasPrefix(u.shell, "/") && !slices.Contains([]string{"/bin/nologin", "/sbin/nologin",
			"/usr/bin/nologin", "/usr/sbin/nologin"}, u.shell) {
			c.env = append(c.env, "SHELL="+u.shell)
		}
		if v >= props.V257 {
			name = u.name // 257 names the user as the database does
		}
		c.env = append(c.env, "USER="+name, "LOGNAME="+name)
		if c.gid < 0 {
			c.gid = u.gid
		}
		c.uid = u.uid
		if v >= props.V262 {
			c.groups = append(supplementaryGroups(u.name), c.gid)
		}
	}
	return c, nil
}

// passwdEntry is a line of /etc/passwd.
type passwdEntry struct {
	name        string
	uid, gid    int
	home, shell string
}

// lookupUser finds a user by name or number in /etc/passwd; root and
// nobody exist even without an entry, as systemd synthesizes them.
func lookupUser(s string) (passwdEntry, bool) {
	var found passwdEntry
	ok := false
	eachDBLine("/etc/passwd", func(f []string) bool {
		if len(f) < 7 {
			return true
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || f[0] != s && f[2] != s {
			return true
		}
		found, ok = passwdEntry{f[0], uid, gid, f[5], f[6]}, true
		return false
	})
	switch {
	case ok:
	case s == "root" || s == "0":
		found, ok = passwdEntry{"root", 0, 0, "/root", "/bin/sh"}, true
	case s == "nobody" || s == "65534":
		found, ok = passwdEntry{"nobody", 65534, 65534, "/", "/usr/sbin/nologin"}, true
	}
	return found, ok
}

// lookupGroup finds a group by name or number in /etc/group.
func lookupGroup(s string) (int, bool) {
	gid, ok := -1, false
	eachDBLine("/etc/group", func(f []string) bool {
		if len(f) < 3 || f[0] != s && f[2] != s {
			return true
		}
		g, err := strconv.Atoi(f[2])
		if err != nil {
			return true
		}
		gid, ok = g, true
		return false
	})
	if !ok && (s == "root" || s == "0") {
		return 0, true
	}
	return gid, ok
}

// supplementaryGroups lists the groups of /etc/group that name user as a
// member (initgroups).
func supplementaryGroups(user string) []int {
	var gids []int
	eachDBLine("/etc/group", func(f []string) bool {
		if len(f) >= 4 && slices.Contains(strings.Split(f[3], ","), user) {
			if g, err := strconv.Atoi(f[2]); err == nil {
				gids = append(gids, g)
			}
		}
		return true
	})
	return gids
}

// eachDBLine calls fn with the ":"-separated fields of each line of a
// passwd-style file until fn returns false.
func eachDBLine(file string, fn func([]string) bool) {
	fh, err := os.Open(file)
	if err != nil {
		return
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") && !fn(strings.Split(l, ":")) {
			return
		}
	}
}

// startScope creates the scope with this process in it, waits for its
// start job, and executes the command in this process, as systemd-run's
// start_transient_scope. It returns only if something failed.
func (e *env) startScope(c *transient.Conn, p *runPlan) (int, error) {
	f := p.f
	// Checked here, once the version is known: before 262 (258..261 not
	// read) systemd-run takes --no-block with --scope and still waits.
	if p.v >= props.V262 && f.noBlock {
		return 0, usagef("run: --no-block is not supported in --scope mode")
	}
	// 257 and later pass the process as a pidfd, and fall back to its
	// PID where the manager has no PIDFDs.
	pidfd := -1
	if p.v >= props.V257 && c.PassesFDs() {
		if fd, err := unix.PidfdOpen(os.Getpid(), 0); err == nil {
			pidfd = fd
			defer unix.Close(fd)
		}
	}
	for {
		pid := transient.Property{Name: "PIDs", Value: dbus.MakeVariant([]uint32{uint32(os.Getpid())})}
		if pidfd >= 0 {
			pid = transient.Property{Name: "PIDFDs", Value: dbus.MakeVariant([]dbus.UnixFD{dbus.UnixFD(pidfd)})}
		}
		err := c.StartTransientMode(e.ctx, p.service, p.f.mode(), append(slices.Clone(p.serviceProps), pid), nil, true)
		var me *transient.ManagerError
		if pidfd >= 0 && errors.As(err, &me) && (me.Name == "org.freedesktop.DBus.Error.UnknownProperty" ||
			me.Name == "org.freedesktop.DBus.Error.PropertyReadOnly") {
			pidfd = -1
			continue
		}
		if code, failed := e.startFailed(err, "scope", f.quiet, p.v, f.userManager); failed {
			return code, nil
		}
		break
	}
	id, err := c.InvocationID(e.ctx, p.service)
	if err != nil {
		fmt.Fprintf(e.stderr, "Failed to request invocation ID for scope: %v\n", err)
		return exitFailure, nil
	}
	env := []string{}
	if id != "" {
		env = append(env, "INVOCATION_ID="+id)
	}
	cr, err := scopeCreds(f, p.v)
	if err != nil {
		return 0, err
	}
	env = append(env, cr.env...)
	env = append(env, f.environment...)

	// Stop the polkit agent before the command takes over the terminal.
	e.closePolkitAgent()
	// The nice level is the calling thread's; the command is executed
	// from this thread.
	runtime.LockOSThread()
	if a, ok := f.exec["Nice"]; ok {
		ps, err := props.ParseFor(p.v, props.Service, a)
		if err != nil || len(ps) != 1 {
			return 0, usagef("run: --nice: %v", err)
		}
		n, _ := ps[0].Value.Value().(int32)
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, int(n)); err != nil {
			fmt.Fprintf(e.stderr, "Failed to set nice level: %s\n", errnoText(err))
			return exitFailure, nil
		}
	}
	if cr.groups != nil {
		if err := syscall.Setgroups(cr.groups); err != nil && !(errors.Is(err, syscall.EPERM) && cr.gid == os.Getgid()) {
			fmt.Fprintf(e.stderr, "Failed to set supplementary groups: %s\n", errnoText(err))
			return exitFailure, nil
		}
	}
	if cr.gid >= 0 {
		if err := syscall.Setresgid(cr.gid, cr.gid, cr.gid); err != nil {
			fmt.Fprintf(e.stderr, "Failed to change GID to %d: %s\n", cr.gid, errnoText(err))
			return exitFailure, nil
		}
	}
	if cr.uid >= 0 {
		if err := syscall.Setresuid(cr.uid, cr.uid, cr.uid); err != nil {
			fmt.Fprintf(e.stderr, "Failed to change UID to %d: %s\n", cr.uid, errnoText(err))
			return exitFailure, nil
		}
	}
	if a, ok := f.exec["WorkingDirectory"]; ok {
		_, dir, _ := strings.Cut(a, "=")
		if err := os.Chdir(dir); err != nil {
			fmt.Fprintf(e.stderr, "Failed to change directory to '%s': %s\n", dir, errnoText(err))
			return exitFailure, nil
		}
	}
	env = mergeEnv(os.Environ(), env)

	if !f.quiet {
		switch {
		case f.json != "":
			// systemd-run writes the object into its stdio buffer and
			// then execs the command: only a terminal's line
			// buffering gets it out; into a pipe or file it is lost.
			if out, ok := e.stdout.(*os.File); ok && isTerminal(out) {
				printRunJSON(e.stdout, f.json, p.service, id)
			}
		case p.v < props.V257:
			fmt.Fprintf(e.stderr, "Running scope as unit: %s\n", p.service)
		case id == "":
			fmt.Fprintf(e.stderr, "Running as unit: %s\n", p.service)
		default:
			fmt.Fprintf(e.stderr, "Running as unit: %s; invocation ID: %s\n", p.service, id)
		}
	}
	argv := f.cmdline
	if f.expandEnv == 1 || p.v >= props.V258 && f.expandEnv != 0 {
		// 258 expands variables in a scope's command line, as the
		// manager does in a service's; 254..257 with
		// --expand-environment=yes.
		var unset, bad []string
		argv, unset, bad = props.ExpandArgv(argv, func(name string) (string, bool) { return lookupEnv(env, name) })
		if len(unset) > 0 {
			fmt.Fprintf(e.stderr, "Referenced but unset environment variable evaluates to an empty string: %s\n", strings.Join(unset, ", "))
		}
		if len(bad) > 0 {
			fmt.Fprintf(e.stderr, "Invalid environment variable name evaluates to an empty string: %s\n", strings.Join(bad, ", "))
		}
	}
	path := ""
	if len(argv) > 0 {
		path = argv[0]
		if !strings.Contains(path, "/") {
			if found, err := findExecutable(path); err == nil {
				path = found
			}
		}
	}
	err = syscall.Exec(path, argv, env)
	if len(argv) == 0 {
		err = syscall.ENOENT
	}
	fmt.Fprintf(e.stderr, "Failed to execute: %s\n", errnoText(err))
	return exitFailure, nil
}

// mergeEnv is strv_env_merge: base with each NAME=VALUE of add replacing
// base's NAME in place, or appended.
func mergeEnv(base, add []string) []string {
	out := slices.Clone(base)
	for _, kv := range add {
		name, _, _ := strings.Cut(kv, "=")
		if i := slices.IndexFunc(out, func(s string) bool { return strings.HasPrefix(s, name+"=") }); i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// lookupEnv reads NAME from an environment block.
func lookupEnv(env []string, name string) (string, bool) {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// errnoText is an error as strerror words it ("No such file or
// directory").
func errnoText(err error) string {
	s := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s = errno.Error()
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
