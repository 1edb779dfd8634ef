package transient

import (
	"context"
	"fmt"
	"math"
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
		v, err := c.Version(ctx)
		if err != nil {
			return nil, err
		}
		svc, err := c.Properties(ctx, name, ServiceInterface)
		if err != nil {
			return nil, err
		}
		if text, err = rewriteService(v, text, svc); err != nil {
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
// svc, as systemd version v reads them back: each Exec* and Exec*Ex key,
// and RestrictNamespaces. Each key's
// rendered lines take the place of its first line; its other lines go.
func rewriteService(v props.Version, text string, svc map[string]dbus.Variant) (string, error) {
	rendered := map[string][]string{}
	for _, p := range execProps {
		val, ok := svc[p+"Ex"]
		if !ok {
			continue
		}
		var entries []execEntry
		if err := val.Store(&entries); err != nil {
			return "", fmt.Errorf("reading %sEx: %w", p, err)
		}
		for _, e := range entries {
			line, err := props.FormatExecUnitFile(e.Path, e.Argv, e.Flags)
			if err != nil {
				return "", fmt.Errorf("%s: %w", p, err)
			}
			rendered[p] = append(rendered[p], p+"="+line)
		}
	}
	if val, ok := svc["RestrictNamespaces"]; ok {
		flags, ok := val.Value().(uint64)
		if !ok {
			return "", fmt.Errorf("RestrictNamespaces is %s, want a uint64", val.Signature())
		}
		// All bits set is NAMESPACE_FLAGS_INITIAL: never set, nothing to
		// render (its known bits would read as every namespace plus time,
		// which 252 to 257 do not print as "no").
		if flags != math.MaxUint64 {
			rendered["RestrictNamespaces"] = []string{"RestrictNamespaces=" + props.FormatNamespacesFor(v, flags)}
		}
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
