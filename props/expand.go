package props

import (
	"slices"
	"strings"
)

// ExpandArgv expands environment variables in a command line as systemd's
// replace_env_argv does (what systemd-run 258 and newer do with the
// command of --scope, and the manager with ExecStart=): a word that is
// just "$NAME" becomes the variable's value split into words (quotes
// removed), or nothing if unset; "${NAME}" inside a word becomes the value
// as is; "$$" becomes "$"; anything else is kept. lookup reads the
// environment. unset lists the variables referenced but unset, bad the
// invalid names referenced, each sorted and without duplicates.
func ExpandArgv(argv []string, lookup func(string) (string, bool)) (out, unset, bad []string) {
	out = []string{}
	get := func(name string) (string, bool) {
		if !validEnvName(name) {
			bad = append(bad, name)
			return "", false
		}
		v, ok := lookup(name)
		if !ok {
			unset = append(unset, name)
		}
		return v, ok
	}
	for _, w := range argv {
		if len(w) > 0 && w[0] == '$' && (len(w) == 1 || w[1] != '{' && w[1] != '$') {
			if v, ok := get(w[1:]); ok {
				words, err := splitWords(v, whitespace, exUnquote|exRelax)
				if err == nil {
					out = append(out, words...)
				}
			}
			continue
		}
		out = append(out, expandWord(w, get))
	}
	slices.Sort(unset)
	slices.Sort(bad)
	return out, slices.Compact(unset), slices.Compact(bad)
}

// expandWord is replace_env without flags: "${NAME}" and "$$" only.
func expandWord(w string, get func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(w); {
		switch {
		case strings.HasPrefix(w[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(w[i:], "${"):
			end := strings.IndexAny(w[i+2:], "}:")
			if end < 0 {
				b.WriteString(w[i:]) // unterminated: kept
				return b.String()
			}
			if w[i+2+end] == ':' {
				// ${NAME:-...} is not supported here: kept as
				// is, up to the colon.
				b.WriteString(w[i : i+2+end+1])
				i += 2 + end + 1
				continue
			}
			v, _ := get(w[i+2 : i+2+end])
			b.WriteString(v)
			i += 2 + end + 1
		default:
			b.WriteByte(w[i])
			i++
		}
	}
	return b.String()
}
