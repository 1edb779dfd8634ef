package props

import (
	"fmt"
	"slices"
	"strings"
)

// unitTypes are the unit type suffixes systemd 252 knows.
var unitTypes = []string{"service", "mount", "swap", "socket", "target", "device", "automount", "timer", "path", "slice", "scope"}

// unitNameChars are the bytes systemd allows in a unit name besides '@'.
const unitNameChars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\"

// UnitNameType returns the type of a unit name ("service" for
// "x.service"), or "" if its suffix is not a unit type systemd 252 knows.
func UnitNameType(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || !slices.Contains(unitTypes, name[i+1:]) {
		return ""
	}
	return name[i+1:]
}

// ValidUnitName is systemd's unit_name_is_valid(name, UNIT_NAME_ANY): a
// plain name, an instance ("a@b.service") or a template ("a@.service"),
// with a known type suffix, shorter than 256 bytes.
func ValidUnitName(name string) bool { return unitNameFormOf(name) != 0 }

// unitNameForm is what unit_name_is_valid tells a valid unit name to be.
type unitNameForm int

const (
	plainUnitName    unitNameForm = iota + 1 // "a.service"
	instanceUnitName                         // "a@b.service"
	templateUnitName                         // "a@.service"
)

// unitNameFormOf classifies name as unit_name_is_valid does; 0 means it
// is no valid unit name.
func unitNameFormOf(name string) unitNameForm {
	if name == "" || len(name) >= 256 {
		return 0
	}
	e := strings.LastIndexByte(name, '.')
	if e <= 0 || UnitNameType(name) == "" {
		return 0
	}
	at := -1
	for i := 0; i < e; i++ {
		if name[i] == '@' && at < 0 {
			at = i
		}
		if name[i] != '@' && !unitNameChar(name[i]) {
			return 0
		}
	}
	switch {
	case at == 0:
		return 0
	case at < 0:
		return plainUnitName
	case e == at+1:
		return templateUnitName
	}
	return instanceUnitName
}

// unitNameChar reports whether c may stand in a unit name's prefix or
// instance (systemd's VALID_CHARS; '@' only as the separator).
func unitNameChar(c byte) bool { return strings.IndexByte(unitNameChars, c) >= 0 }

// MangleUnitName is systemd's unit_name_mangle_with_suffix without glob
// support, as systemd-run 252 uses it: a valid unit name is kept; anything
// else is escaped ('/' becomes '-', other bytes not allowed in unit names
// \xNN) and given suffix (".service") unless it already ends in a unit
// type. operation ("as unit") completes the notices, which are the
// messages systemd-run prints about the mangling, in its words.
//
// The error is an [*Error] wrapping [ErrSyntax] for an empty name, a path
// (a name starting with '/'), or one that is not valid even when escaped
// (too long, say).
func MangleUnitName(name, suffix, operation string) (mangled string, notices []string, err error) {
	fail := func(why string) (string, []string, error) {
		return "", nil, &Error{Input: name, Err: syntaxf("%s", why)}
	}
	if name == "" {
		return fail("empty unit name")
	}
	if ValidUnitName(name) {
		return name, nil, nil
	}
	const globChars = unitNameChars + "@[]!-*?"
	suggest := " (maybe you should use systemd-escape?)"
	if strings.ContainsAny(name, "*?[") && !strings.ContainsFunc(name, func(r rune) bool { return !strings.ContainsRune(globChars, r) }) {
		notices = append(notices, "Glob pattern passed "+operation+", but globs are not supported for this.")
		suggest = ""
	}
	if strings.HasPrefix(name, "/") {
		return fail("a path, not a unit name")
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			b.WriteByte('-')
			changed = true
		case c != '@' && strings.IndexByte(unitNameChars, c) < 0:
			fmt.Fprintf(&b, "\\x%02x", c)
			changed = true
		default:
			b.WriteByte(c)
		}
	}
	s := b.String()
	if changed {
		notices = append(notices, "Invalid unit name \""+name+"\" escaped as \""+s+"\""+suggest+".")
	}
	if UnitNameType(s) == "" {
		s += suffix
	}
	if !ValidUnitName(s) {
		return fail("not a valid unit name even when escaped")
	}
	return s, notices, nil
}
