package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// The man pages are a second rendering of the help texts: borgrun(1) of
// the usage, and borgrun-NAME(1) of each command's help and flag set.

// man writes the man pages into the directory args[0] (created if
// missing) and prints the name of each file written; "--list" prints the
// names only (make uninstall removes them).
func (e *env) man(args []string) error {
	if len(args) != 1 {
		return usagef("__man: want DIR or --list")
	}
	pages := manPages()
	if args[0] != "--list" {
		if err := os.MkdirAll(args[0], 0o755); err != nil {
			return err
		}
	}
	for _, p := range pages {
		if args[0] != "--list" {
			if err := os.WriteFile(filepath.Join(args[0], p.file), []byte(p.text), 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintln(e.stdout, p.file)
	}
	return nil
}

type manPage struct{ file, text string }

// manPages returns borgrun(1) and one page per command.
func manPages() []manPage {
	pages := []manPage{{"borgrun.1", mainManPage()}}
	for _, c := range commands() {
		pages = append(pages, manPage{"borgrun-" + c.name + ".1", commandManPage(c)})
	}
	return pages
}

// exitStatus is the EXIT STATUS every page has; now and run add theirs.
const exitStatus = `.TP
.B 0
Success.
.TP
.B 1
The manager refused, or something else went wrong (with \-H: some host failed).
.TP
.B 2
Bad input (a usage error, or a setting the manager refused as invalid): nothing was created.
.TP
.B 128+N
borgrun was stopped by signal N (130 for SIGINT, 143 for SIGTERM); the message says what was done.
`

const nowExitStatus = `.TP
.B the command's status
now exits with the command's exit status: 255 if it was killed by a signal, 1 for other failures of the unit.
`

const runExitStatus = `.TP
.B the service's status
With \-\-wait, run exits with the service's exit status, as systemd\-run does.
`

const files = `.TP
.I /run/systemd/transient/borgrun\-NAME.timer, /run/systemd/transient/borgrun\-NAME.service
The transient units of job NAME, kept by the system manager until the next
reboot (under
.I $XDG_RUNTIME_DIR/systemd/transient/
for \-\-user). borgrun writes no unit file of its own.
.TP
.I /run/systemd/private, /run/dbus/system_bus_socket
How borgrun reaches the system manager: directly as root, else through the bus.
.TP
.I /etc/borgmatic/config.yaml, /etc/borgmatic.d/
The borgmatic configuration the default hardening is derived from (its
repositories, source directories and borg's own directories).
.TP
.I /etc/systemd/system/
Where "borgrun export NAME \-\-dir /etc/systemd/system" writes unit files
that keep a schedule across reboots.
`

// readmeExamples are the README's examples, for borgrun(1).
const readmeExamples = `borgrun schedule --daily            # borgmatic, every day, with sane defaults
borgrun now                         # run it now, stream its output, exit with its status
borgrun list
borgrun schedule --weekly --name offsite -- /usr/bin/borgmatic -c /etc/borgmatic/offsite.yaml
borgrun schedule --daily --on-failure 'curl -fsS -m 10 https://hc-ping.com/UUID/fail'
borgrun remove offsite
borgrun export nightly --dir /etc/systemd/system
borgrun schedule --daily -H root@db1 -H root@web1
source <(borgrun completion bash)
`

func mainManPage() string {
	var b strings.Builder
	th(&b, "borgrun")
	b.WriteString(".SH NAME\nborgrun \\- run backups as transient systemd units\n")
	intro, rest, _ := strings.Cut(usage, "\nUsage:\n")
	synopsis, rest, _ := strings.Cut(rest, "\n\n")
	b.WriteString(".SH SYNOPSIS\n")
	for _, l := range strings.Split(synopsis, "\n") {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "   "); i >= 0 {
			l = l[:i]
		}
		b.WriteString(".br\n" + roffLine(l) + "\n")
	}
	b.WriteString(".SH DESCRIPTION\n")
	writeText(&b, intro+"\n\n"+rest, nil)
	b.WriteString(".SH COMMANDS\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, ".TP\n.BR borgrun\\-%s (1)\n%s\n", roffEscape(c.name), roffEscape(summary(c.name)))
	}
	b.WriteString(".SH EXIT STATUS\n" + exitStatus)
	b.WriteString(".SH FILES\n" + files)
	b.WriteString(".SH EXAMPLES\n.nf\n.RS 4\n")
	for _, l := range strings.Split(strings.TrimSuffix(readmeExamples, "\n"), "\n") {
		b.WriteString(roffLine(l) + "\n")
	}
	b.WriteString(".RE\n.fi\n")
	seeAlso(&b, "")
	return b.String()
}

func commandManPage(c command) string {
	var b strings.Builder
	th(&b, "borgrun-"+c.name)
	desc := summary(c.name)
	if desc == "" {
		desc = "borgrun " + c.name
	}
	fmt.Fprintf(&b, ".SH NAME\nborgrun\\-%s \\- %s\n", roffEscape(c.name), roffEscape(desc))
	first, body, _ := strings.Cut(c.help, "\n")
	b.WriteString(".SH SYNOPSIS\n" + roffLine(strings.TrimPrefix(first, "Usage: ")) + "\n")
	b.WriteString(".SH DESCRIPTION\n")
	examples := writeText(&b, body, c.flags)
	if c.flags != nil {
		b.WriteString(".SH OPTIONS\n")
		c.flags().VisitAll(func(f *pflag.Flag) { writeFlag(&b, f) })
		b.WriteString(".TP\n.BR \\-h \", \" \\-\\-help\nShow this help.\n")
	}
	b.WriteString(".SH EXIT STATUS\n" + exitStatus)
	switch c.name {
	case "now":
		b.WriteString(nowExitStatus)
	case "run":
		b.WriteString(runExitStatus)
	}
	if c.name == "schedule" || c.name == "export" {
		b.WriteString(".SH FILES\n" + files)
	}
	if examples != "" {
		b.WriteString(".SH EXAMPLES\n.nf\n.RS 4\n" + examples + ".RE\n.fi\n")
	}
	seeAlso(&b, c.name)
	return b.String()
}

func th(b *strings.Builder, name string) {
	fmt.Fprintf(b, ".\\\" Generated by borgrun %s from its --help texts.\n", roffEscape(version))
	fmt.Fprintf(b, ".TH %s 1 \"\" \"borgrun %s\" \"borgrun manual\"\n", roffEscape(strings.ToUpper(name)), roffEscape(version))
}

func seeAlso(b *strings.Builder, self string) {
	refs := []string{"borgrun(1)"}
	if self == "" {
		refs = nil
	}
	refs = append(refs, "systemd\\-run(1)", "systemctl(1)", "systemd.timer(5)", "systemd.exec(5)", "borgmatic(1)", "borg(1)")
	b.WriteString(".SH SEE ALSO\n")
	for i, r := range refs {
		name, sec, _ := strings.Cut(strings.TrimSuffix(r, ")"), "(")
		sep := ","
		if i == len(refs)-1 {
			sep = ""
		}
		fmt.Fprintf(b, ".BR %s (%s)%s\n", name, sec, sep)
	}
}

// writeText renders a help text's body: paragraphs, indented blocks kept
// as they are, and "Heading:" blocks as subsections. The "Examples:"
// block is returned, rendered, for the EXAMPLES section, and an
// "Options:" block is dropped when the OPTIONS come from the flag set.
func writeText(b *strings.Builder, text string, flags func() *pflag.FlagSet) (examples string) {
	for _, block := range strings.Split(strings.Trim(text, "\n"), "\n\n") {
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		head := ""
		if l := lines[0]; strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") && len(lines) > 1 && strings.HasPrefix(lines[1], " ") {
			head, lines = strings.TrimSuffix(l, ":"), lines[1:]
		}
		indented := true
		for _, l := range lines {
			indented = indented && strings.HasPrefix(l, " ")
		}
		var r strings.Builder
		if indented {
			for _, l := range lines {
				r.WriteString(roffLine(strings.TrimPrefix(l, "  ")) + "\n")
			}
		}
		switch {
		case head == "Examples":
			examples += r.String()
		case head == "Options" && flags != nil:
		case indented:
			if head != "" {
				b.WriteString(".SS " + roffEscape(head) + "\n")
			}
			b.WriteString(".PP\n.nf\n.RS 4\n" + r.String() + ".RE\n.fi\n")
		default:
			if head != "" {
				b.WriteString(".SS " + roffEscape(head) + "\n")
			}
			b.WriteString(".PP\n")
			for _, l := range lines {
				b.WriteString(roffLine(strings.TrimSpace(l)) + "\n")
			}
		}
	}
	return examples
}

// writeFlag renders one option as --help shows it: names, value, text and
// default.
func writeFlag(b *strings.Builder, f *pflag.Flag) {
	b.WriteString(".TP\n")
	if f.Shorthand != "" {
		fmt.Fprintf(b, "\\fB\\-%s\\fR, ", roffEscape(f.Shorthand))
	}
	fmt.Fprintf(b, "\\fB\\-\\-%s\\fR", roffEscape(f.Name))
	varname, text := pflag.UnquoteUsage(f)
	if f.NoOptDefVal == "" && varname != "" {
		fmt.Fprintf(b, " \\fI%s\\fR", roffEscape(varname))
	}
	b.WriteString("\n" + roffLine(text))
	switch f.DefValue {
	case "", "false", "[]", "0":
	default:
		if f.NoOptDefVal == "" {
			b.WriteString(" (default: " + roffEscape(f.DefValue) + ")")
		}
	}
	b.WriteString("\n")
}

// roffEscape escapes s for a line of roff text: backslashes and minus signs.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine escapes s and keeps a leading . or ' from being a request.
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
