package transient

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/borgrun/borgrun/props"
	"github.com/godbus/dbus/v5"
)

// UnitFile is a loaded transient unit written out as a unit file: see
// [Conn.UnitFile].
type UnitFile struct {
	Name   string // the unit's name, e.g. "borgrun-nightly.timer"
	Source string // the manager's file for the transient unit (FragmentPath)
	Text   string // the unit file's content
}

// execProps are the service's command properties. The manager's D-Bus
// view has two forms of each; the Ex form carries the prefix flags.
var execProps = []string{"ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"}

// execFlagPrefix maps the flags of an Exec*Ex entry to their command-line
// prefixes (systemd.service(5), "Table 1. Special executable prefixes").
var execFlagPrefix = map[string]string{
	"ignore-failure": "-",
	"privileged":     "+",
	"no-setuid":      "!",
	"ambient":        "!!",
	"no-env-expand":  ":",
}

// UnitFile returns a unit file equivalent to the transient unit called
// name: loaded from disk in its place, it gives the same unit (the same
// properties in systemctl show, bar identity, state and timestamps).
// read reads a file on the manager's machine (nil: os.ReadFile, the
// manager runs here).
//
// The text is the manager's own: the file it keeps for each transient unit
// (its FragmentPath, written from exactly the properties it was sent and
// re-read on daemon-reload), without its header line, followed by the
// unit's drop-ins, if any. Where systemd 252 writes that file in a form it
// does not read back the same (every Exec*= line whose argument holds '$'
// or ';', every command with a '+', '!' or ':' prefix, which it writes as
// Exec*Ex=, a key that unit files do not have, and RestrictNamespaces=yes,
// which it writes as an empty assignment, i.e. a reset), a service's lines
// are rewritten from the manager's D-Bus properties.
//
// A unit that is not loaded is [ErrNoSuchUnit]; one that is not transient
// is [ErrNotTransient].
func (c *Conn) UnitFile(ctx context.Context, name string, read func(path string) ([]byte, error)) (*UnitFile, error) {
	if read == nil {
		read = os.ReadFile
	}
	unit, err := c.Properties(ctx, name, UnitInterface)
	if err != nil {
		return nil, err
	}
	if ls, _ := unit["LoadState"].Value().(string); ls != "loaded" {
		return nil, fmt.Errorf("transient: %s is not loaded (LoadState %q): %w", name, ls, ErrNoSuchUnit)
	}
	fragment, _ := unit["FragmentPath"].Value().(string)
	if tr, _ := unit["Transient"].Value().(bool); !tr {
		return nil, fmt.Errorf("transient: %s: %w: loaded from %q", name, ErrNotTransient, fragment)
	}
	if fragment == "" {
		return nil, fmt.Errorf("transient: %s: the manager shows no file for it (FragmentPath is empty)", name)
	}
	data, err := read(fragment)
	if err != nil {
		return nil, fmt.Errorf("transient: reading %s: %w", name, err)
	}
	text := strings.TrimPrefix(string(data), "# This is a transient unit file, created programmatically via the systemd API. Do not edit.\n")
	dropIns, _ := unit["DropInPaths"].Value().([]string)
	for _, p := range dropIns {
		d, err := read(p)
		if err != nil {
			return nil, fmt.Errorf("transient: reading a drop-in of %s: %w", name, err)
		}
		text = strings.TrimRight(text, "\n") + "\n\n# From the drop-in " + p + "\n" + string(d)
	}
	if strings.HasSuffix(name, ".service") {
		svc, err := c.Properties(ctx, name, ServiceInterface)
		if err != nil {
			return nil, err
		}
		if text, err = rewriteService(text, svc); err != nil {
			return nil, fmt.Errorf("transient: exporting %s: %w", name, err)
		}
	}
	return &UnitFile{Name: name, Source: fragment, Text: text}, nil
}

// execEntry is one command of an Exec*Ex property, a(sasasttttuii).
type execEntry struct {
	Path           string
	Argv           []string
	Flags          []string
	T1, T2, T3, T4 uint64
	PID            uint32
	Code, Status   int32
}

// rewriteService replaces, in a service's unit-file text, the lines that
// systemd 252 writes in a form it does not read back the same (see
// [Conn.UnitFile]) with lines rendered from the service's D-Bus properties
// props: each Exec* and Exec*Ex key, and RestrictNamespaces. Each key's
// rendered lines take the place of its first line; its other lines go.
func rewriteService(text string, props map[string]dbus.Variant) (string, error) {
	rendered := map[string][]string{}
	for _, p := range execProps {
		v, ok := props[p+"Ex"]
		if !ok {
			continue
		}
		var entries []execEntry
		if err := v.Store(&entries); err != nil {
			return "", fmt.Errorf("reading %sEx: %w", p, err)
		}
		for _, e := range entries {
			line, err := execLine(p, e)
			if err != nil {
				return "", err
			}
			rendered[p] = append(rendered[p], line)
		}
	}
	if v, ok := props["RestrictNamespaces"]; ok {
		flags, ok := v.Value().(uint64)
		if !ok {
			return "", fmt.Errorf("RestrictNamespaces is %s, want a uint64", v.Signature())
		}
		rendered["RestrictNamespaces"] = []string{"RestrictNamespaces=" + namespaceValue(flags)}
	}
	var out strings.Builder
	done := map[string]bool{}
	lines := strings.SplitAfter(text, "\n")
	for i := 0; i < len(lines); i++ {
		// A line ending in a backslash continues on the next.
		logical := lines[i]
		for strings.HasSuffix(strings.TrimRight(logical, "\n"), `\`) && i+1 < len(lines) {
			i++
			logical += lines[i]
		}
		key := rewrittenKey(logical)
		if key == "" {
			out.WriteString(logical)
			continue
		}
		if !done[key] {
			done[key] = true
			for _, l := range rendered[key] {
				out.WriteString(l + "\n")
			}
		}
	}
	// A setting the manager has but the text lacks cannot be placed:
	// refuse rather than lose it. (RestrictNamespaces=no is the default.)
	for k, ls := range rendered {
		if !done[k] && len(ls) > 0 && ls[0] != "RestrictNamespaces=no" {
			return "", fmt.Errorf("%s is set but not in the unit's file", k)
		}
	}
	return out.String(), nil
}

// rewrittenKey returns the key rewriteService renders itself ("ExecStart"
// for both ExecStart= and ExecStartEx=), or "" for a line it keeps.
func rewrittenKey(line string) string {
	key, _, ok := strings.Cut(line, "=")
	if !ok {
		return ""
	}
	key = strings.TrimSpace(key)
	if key == "RestrictNamespaces" {
		return key
	}
	key = strings.TrimSuffix(key, "Ex")
	for _, p := range execProps {
		if key == p {
			return p
		}
	}
	return ""
}

// execLine renders one command as a unit-file line that systemd 252's
// config_parse_exec reads back as exactly e: prefixes from its flags, '@'
// when argv[0] is not the path, every word double-quoted with C escapes,
// '%' doubled (specifiers are expanded when the file is loaded), and a
// word that is exactly ";" written \; (a bare one separates commands).
// '$' is left alone: the manager expands $VAR when it runs the command,
// for a unit from a file as for a transient one.
func execLine(key string, e execEntry) (string, error) {
	var b strings.Builder
	b.WriteString(key + "=")
	for _, f := range e.Flags {
		p, ok := execFlagPrefix[f]
		if !ok {
			return "", fmt.Errorf("%s %s: unknown flag %q", key, e.Path, f)
		}
		b.WriteString(p)
	}
	words := e.Argv
	if len(e.Argv) == 0 || e.Argv[0] != e.Path {
		b.WriteString("@")
		words = append([]string{e.Path}, e.Argv...)
	}
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(execWord(w))
	}
	return b.String(), nil
}

func execWord(w string) string {
	if w == ";" {
		return `\;`
	}
	return strings.ReplaceAll(props.Quote(w), "%", "%%")
}

// Namespace flags (CLONE_NEW*) and the names systemd gives them, in
// systemd's order.
var namespaceNames = []struct {
	flag uint64
	name string
}{
	{0x02000000, "cgroup"},
	{0x08000000, "ipc"},
	{0x40000000, "net"},
	{0x00020000, "mnt"},
	{0x20000000, "pid"},
	{0x10000000, "user"},
	{0x04000000, "uts"},
}

// namespaceAll is every namespace flag: no restriction.
const namespaceAll = 0x02000000 | 0x08000000 | 0x40000000 | 0x00020000 | 0x20000000 | 0x10000000 | 0x04000000

// namespaceValue renders RestrictNamespaces' D-Bus value (the namespace
// types still allowed) as a unit-file value.
func namespaceValue(flags uint64) string {
	switch flags & namespaceAll {
	case 0:
		return "yes"
	case namespaceAll:
		return "no"
	}
	var names []string
	for _, n := range namespaceNames {
		if flags&n.flag != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " ")
}
