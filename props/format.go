package props

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// FormatTimespan renders usec microseconds as systemd's format_timespan
// does, to the given accuracy in microseconds (0 means 1): "12ms", "1.512s",
// "1min 5s", "infinity". With accuracy 1 the result parses back to usec
// with [ParseTimespan].
func FormatTimespan(usec, accuracy uint64) string {
	if usec == math.MaxUint64 {
		return "infinity"
	}
	if usec == 0 {
		return "0"
	}
	if accuracy == 0 {
		accuracy = 1
	}
	units := [...]struct {
		suffix string
		usec   uint64
	}{
		{"y", 31557600e6}, {"month", 2629800e6}, {"w", 604800e6},
		{"d", 86400e6}, {"h", 3600e6}, {"min", 60e6},
		{"s", 1e6}, {"ms", 1e3}, {"us", 1},
	}
	t := usec
	var b strings.Builder
	for _, u := range units {
		if t == 0 || (t < accuracy && b.Len() > 0) {
			break
		}
		if t < u.usec {
			continue
		}
		a, rest := t/u.usec, t%u.usec
		sep := ""
		if b.Len() > 0 {
			sep = " "
		}
		// Below a minute, a remainder is shown as a decimal fraction.
		if t < 60e6 && rest > 0 {
			digits := 0
			for cc := u.usec; cc > 1; cc /= 10 {
				digits++
			}
			r := rest
			for cc := accuracy; cc > 1; cc /= 10 {
				r /= 10
				digits--
			}
			if digits > 0 {
				fmt.Fprintf(&b, "%s%d.%0*d%s", sep, a, digits, r, u.suffix)
				break
			}
		}
		fmt.Fprintf(&b, "%s%d%s", sep, a, u.suffix)
		t = rest
	}
	return b.String()
}

// FormatNamespaces is [FormatNamespacesFor] systemd 252.
func FormatNamespaces(flags uint64) string { return FormatNamespacesFor(OldestVersion, flags) }

// FormatNamespacesFor is the printer beside the RestrictNamespaces= parser
// of systemd version v: it renders the D-Bus value (the CLONE_NEW* flags
// of the namespaces still allowed) as an assignment value that v's parser
// reads back as the same flags: "yes" for none, "no" for all the
// namespaces v knows (252 to 257: cgroup ipc net mnt pid user uts; from
// 258 on time too) and for the manager's default of a unit that restricts
// nothing (every bit set), otherwise the names in systemd's order
// (namespace_flags_to_string), time included. Other bits that are no
// namespace flag are dropped.
func FormatNamespacesFor(v Version, flags uint64) string {
	var known uint64
	for _, n := range namespaceFlags {
		known |= n.flag
	}
	all := uint64(namespaceFlagsAll)
	if v.effective() >= V258 {
		all = namespaceFlagsAll258
	}
	if flags == math.MaxUint64 {
		// NAMESPACE_FLAGS_INITIAL: what a unit that restricts nothing
		// shows.
		return "no"
	}
	switch flags &= known; flags {
	case 0:
		return "yes"
	case all:
		return "no"
	}
	var names []string
	for _, n := range namespaceFlags {
		if flags&n.flag != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " ")
}

// FormatExecCommand is the printer beside the Exec*= parser: it renders
// one command of an ExecStart=/ExecStartEx= D-Bus value (path, argv and
// the flags of the a(sasas) form: ignore-failure, privileged, no-setuid,
// ambient, no-env-expand) as an assignment value that [Parse] reads back
// as the same command: a prefix per flag ("-", "+", "!", "!!", ":"), "@"
// and the path when argv[0] is not the path, and every word quoted with
// [Quote]. The error is an [*Error] for a flag it does not know, flags
// that no prefixes express together (privileged with no-setuid or
// ambient, no-setuid with ambient), or an empty argv.
func FormatExecCommand(path string, argv, flags []string) (string, error) {
	return formatExec(path, argv, flags, Quote)
}

// FormatExecUnitFile is [FormatExecCommand] for a line of a unit file, as
// systemd's config_parse_exec reads it: '%' is doubled in every word (it
// starts a specifier there) and a word that is exactly ";" is written \;
// (a bare one separates commands). '$' is left alone: the manager expands
// $VAR when it runs the command, whether the unit is from a file or
// transient.
func FormatExecUnitFile(path string, argv, flags []string) (string, error) {
	return formatExec(path, argv, flags, func(w string) string {
		if w == ";" {
			return `\;`
		}
		return strings.ReplaceAll(Quote(w), "%", "%%")
	})
}

func formatExec(path string, argv, flags []string, word func(string) string) (string, error) {
	input := path + " " + strings.Join(argv, " ")
	fail := func(format string, a ...any) (string, error) {
		return "", &Error{Input: input, Err: syntaxf(format, a...)}
	}
	if len(argv) == 0 {
		return fail("an empty argv cannot be written as a command line")
	}
	var set int
	for _, f := range flags {
		i := slices.Index(execFlagNames, f)
		if i < 0 {
			return fail("unknown exec flag %q: want %s", f, strings.Join(execFlagNames, ", "))
		}
		set |= 1 << i
	}
	if set&execPrivileged != 0 && set&(execNoSetuid|execAmbient) != 0 || set&execNoSetuid != 0 && set&execAmbient != 0 {
		return fail("exec flags %s cannot be combined", strings.Join(flags, ", "))
	}
	var b strings.Builder
	for i, p := range []string{"-", "+", "!", "!!", ":"} {
		if set&(1<<i) != 0 {
			b.WriteString(p)
		}
	}
	words := argv
	if argv[0] != path {
		b.WriteByte('@')
		words = append([]string{path}, argv...)
	}
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word(w))
	}
	return b.String(), nil
}
