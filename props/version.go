package props

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Version is a systemd major version, e.g. Version(257). It selects which
// assignment names exist and how their values are encoded, matching that
// version's systemd-run (src/shared/bus-unit-util.c).
type Version int

// The versions whose property language props knows.
const (
	V252 Version = 252 + iota
	V253
	V254
	V255
	V256
	V257
	V258
	V259
	V260
	V261
	V262

	// OldestVersion is the oldest version props knows: what [Parse]
	// speaks.
	OldestVersion = V252
	// NewestVersion is the newest version props knows; a newer manager
	// is spoken to as this one.
	NewestVersion = V262
)

// ErrNeedsNewer is wrapped by [Error] when the name exists in systemd-run,
// but only in a newer version than the manager's.
var ErrNeedsNewer = errors.New("needs a newer systemd")

// String returns e.g. "systemd 257".
func (v Version) String() string { return fmt.Sprintf("systemd %d", int(v)) }

// ParseVersion reads the major version from a systemd version string, as
// the manager's Version property and systemctl --version state it:
// "252.38-1~deb12u1" and "252" are 252, "262~rc1" is 262. The result may
// lie outside [OldestVersion]..[NewestVersion]; the error names the input.
func ParseVersion(s string) (Version, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 6 {
		return 0, fmt.Errorf("props: systemd version %q: want a number first, like 252.38", s)
	}
	v := 0
	for _, c := range s[:n] {
		v = v*10 + int(c-'0')
	}
	return Version(v), nil
}

// effective is the version whose tables apply to v: versions newer than
// the newest known are treated as the newest.
func (v Version) effective() Version {
	if v > NewestVersion {
		return NewestVersion
	}
	return v
}

type versionKey struct {
	v Version
	t UnitType
}

// versionTables holds each known version's names and handlers, by
// version and unit type, each built the first time it is asked for
// (tableFor) and never changed: a process speaks to one manager, so it
// builds one or two of them, not every version's (which cost a run's
// start about half a millisecond).
var versionTables struct {
	sync.Mutex
	m map[versionKey]map[string]handler
}

// introduced maps, for each unit type, each name to the first version
// whose systemd-run takes it; built once, when first asked for.
var introduced = sync.OnceValue(func() map[UnitType]map[string]Version {
	introduced := map[UnitType]map[string]Version{}
	for _, t := range propTypes {
		introduced[t] = map[string]Version{}
		for name := range tables[t] {
			introduced[t][name] = OldestVersion
		}
		for _, a := range addedNames {
			if a.types&typeBit(t) != 0 {
				if _, ok := introduced[t][a.name]; !ok {
					introduced[t][a.name] = a.since
				}
			}
		}
	}
	return introduced
})

// buildVersionTable applies addedNames and changedNames on top of the
// 252 table of t, for version v.
func buildVersionTable(v Version, t UnitType) map[string]handler {
	m := make(map[string]handler, len(tables[t])+len(addedNames))
	for name, h := range tables[t] {
		m[name] = h
	}
	for _, a := range addedNames {
		if a.since <= v && a.types&typeBit(t) != 0 {
			m[a.name] = a.h
		}
	}
	for _, c := range changedNames {
		if c.since <= v && c.types&typeBit(t) != 0 {
			for _, name := range c.names {
				if _, ok := m[name]; ok && c.h == nil {
					delete(m, name) // moved to another group
				} else if ok {
					m[name] = c.h
				}
			}
		}
	}
	return m
}

// tableFor returns the names and handlers of version v (the newest known
// for a newer one) for unit type t; nil for an older version or a type
// props does not know (see propTypes).
func tableFor(v Version, t UnitType) map[string]handler {
	v = v.effective()
	if v < OldestVersion || !slices.Contains(propTypes, t) {
		return nil
	}
	key := versionKey{v, t}
	versionTables.Lock()
	defer versionTables.Unlock()
	if m, ok := versionTables.m[key]; ok {
		return m
	}
	if versionTables.m == nil {
		versionTables.m = map[versionKey]map[string]handler{}
	}
	m := buildVersionTable(v, t)
	versionTables.m[key] = m
	return m
}

// NamesFor returns every assignment name that systemd-run of version v
// accepts for a unit of type t, sorted. It returns nil for a version
// older than [OldestVersion] or an unknown unit type.
func NamesFor(v Version, t UnitType) []string {
	if v < OldestVersion {
		return nil
	}
	tab := tableFor(v, t)
	if tab == nil {
		return nil
	}
	names := make([]string, 0, len(tab))
	for n := range tab {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Since returns the first systemd version whose systemd-run accepts name
// for a unit of type t, and false if no known version does.
func Since(t UnitType, name string) (Version, bool) {
	v, ok := introduced()[t][name]
	return v, ok
}

// Beyond reports whether, for a manager of version v, props takes values
// of name for a unit of type t that v's own systemd-run refuses, because
// v's manager has the property a newer systemd-run sends for them: from
// 257, PrivateTmp=, ProtectControlGroups= and PrivateUsers= values that
// are not booleans go to the …Ex properties, as systemd-run does from 258.
func Beyond(v Version, t UnitType, name string) bool {
	beyond := false
	for _, c := range changedNames {
		if c.since <= v.effective() && c.types&typeBit(t) != 0 && slices.Contains(c.names, name) {
			beyond = c.beyond
		}
	}
	return beyond
}

// Ignored reports whether systemd-run of version v accepts name for t but
// only warns and sends nothing (the cgroup-v1 settings from 258 on), and
// the warning it prints.
func Ignored(v Version, t UnitType, name string) (warning string, ok bool) {
	if typeBit(t)&forCgroupGroup == 0 || v.effective() < V258 {
		return "", false
	}
	for _, n := range cgroupV1Names {
		if n == name {
			return fmt.Sprintf("D-Bus property %s is deprecated, ignoring assignment", name), true
		}
	}
	return "", false
}

// ParseFor is [Parse] for a manager of version v: it parses one
// "Name=Value" assignment for a unit of type t the way that version's
// systemd-run does. A version newer than [NewestVersion] is spoken to as
// the newest. A name that only a newer version knows fails with an error
// wrapping [ErrNeedsNewer] that names the version which introduced it.
// For a name that v's systemd-run accepts but ignores (see [Ignored]),
// ParseFor returns no properties and no error. Unlike [Parse], ParseFor
// also refuses values that v's manager would refuse at
// StartTransientUnit (Type=bogus, StateDirectory=/abs, User=a:b, ...),
// with an error wrapping [ErrSyntax] or [ErrRange].
func ParseFor(v Version, t UnitType, assignment string) ([]Property, error) {
	props, err := parse(v, t, assignment, true)
	if err == nil && props == nil {
		props = []Property{}
	}
	return props, err
}

// parse is [ParseFor] and, without the manager's checks, [Parse].
func parse(v Version, t UnitType, assignment string, managerChecks bool) ([]Property, error) {
	name, value, ok := strings.Cut(assignment, "=")
	if !ok {
		return nil, &Error{Input: assignment, Err: syntaxf("not an assignment: missing '='")}
	}
	if v < OldestVersion {
		return nil, &Error{Input: assignment, Name: name, Err: &valueError{ErrNeedsNewer,
			fmt.Sprintf("%s is older than the oldest known, %d", v, int(OldestVersion))}}
	}
	tab := tableFor(v, t)
	if tab == nil {
		return nil, &Error{Input: assignment, Name: name, Err: &valueError{ErrUnknownProperty, "unknown unit type " + t.String()}}
	}
	h := tab[name]
	if h == nil {
		return nil, &Error{Input: assignment, Name: name, Err: unknownNameFor(v, t, name)}
	}
	if strings.IndexByte(assignment, 0) >= 0 {
		return nil, &Error{Input: assignment, Name: name, Err: syntaxf("contains a NUL byte")}
	}
	props, err := h(name, value)
	if err == nil {
		for _, p := range props {
			if !validValue(p.Value.Value()) {
				err = syntaxf("not valid UTF-8 after unescaping")
				break
			}
		}
	}
	if err == nil && managerChecks {
		err = checkManager(v, t, props) // the manager's own checks: manager.go
	}
	if err != nil {
		var ve *valueError
		if !errors.As(err, &ve) {
			err = &valueError{ErrSyntax, err.Error()}
		}
		return nil, &Error{Input: assignment, Name: name, Err: err}
	}
	return props, nil
}

// ParseAllFor parses assignments in order with [ParseFor] and
// concatenates the results. It stops at the first error.
func ParseAllFor(v Version, t UnitType, assignments []string) ([]Property, error) {
	var all []Property
	for _, a := range assignments {
		p, err := ParseFor(v, t, a)
		if err != nil {
			return nil, err
		}
		all = append(all, p...)
	}
	return all, nil
}

// unknownNameFor explains why v's systemd-run rejects name for t: a newer
// version has it, the other unit type has it, or it is unknown.
func unknownNameFor(v Version, t UnitType, name string) error {
	if since, ok := Since(t, name); ok && since > v.effective() {
		return &valueError{ErrNeedsNewer, fmt.Sprintf("%s= needs systemd %d or newer; this manager is %d",
			name, int(since), int(v))}
	}
	if since, ok := Since(Service, name); ok && t == Scope {
		msg := fmt.Sprintf("%s is not a scope property: a scope runs no command of its own", name)
		if since > v.effective() {
			msg += fmt.Sprintf(" (and needs systemd %d or newer)", int(since))
		}
		return &valueError{ErrWrongUnitType, msg}
	}
	for _, other := range propTypes {
		// -p with --scope takes what a scope takes; a service name
		// there is just unknown.
		if other == t || other == Scope || t == Scope && other == Service {
			continue
		}
		if since, ok := Since(other, name); ok {
			msg := fmt.Sprintf("%s is a %s property: use %s", name, other, other.flag())
			if since > v.effective() {
				msg += fmt.Sprintf(" (systemd %d or newer)", int(since))
			}
			return &valueError{ErrWrongUnitType, msg}
		}
	}
	msg := fmt.Sprintf("unknown property %q for a %s", name, t)
	if s := nearest(name, NamesFor(v, t)); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return &valueError{ErrUnknownProperty, msg}
}
