package props

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Quote double-quotes s so that systemd's word splitting with unquoting
// and C unescaping (extract_first_word with EXTRACT_UNQUOTE and
// EXTRACT_CUNESCAPE, as for ExecStart= and Environment=) gives back
// exactly s, as one word: '"' and '\' are backslash-escaped, newline and
// tab become \n and \t, other control bytes \xNN; everything else,
// including bytes that are not UTF-8, is kept. A leading quote also keeps
// the first word of an ExecStart= value from being read as a prefix
// ("-", "@", "+", ...). s must not contain a NUL byte, which no systemd
// string can hold.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// QuoteArgv renders words as a command line, each word quoted with
// [Quote] and separated by a space, that systemd's word splitting (and so
// [Parse] of ExecStart= or Environment=) splits back into words.
func QuoteArgv(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// SplitArgv splits a command line into words as systemd splits the
// command of ExecStart= (quotes removed, C escapes resolved): the parser
// beside [QuoteArgv], whose output it splits back into the same words.
// Prefixes such as "-" or "+" are not interpreted.
func SplitArgv(s string) ([]string, error) {
	return splitWords(s, whitespace, exUnquote|exCUnescape)
}

// ParsePathArgument is systemd's parse_path_argument(path, suppress_root
// = true) with the working directory given: a relative path is made
// absolute against cwd, and the result simplified as path_simplify does
// (repeated slashes and "." components dropped, ".." kept). An empty path
// and the root directory give "", meaning unset.
func ParsePathArgument(path, cwd string) string {
	if path == "" {
		return ""
	}
	if !strings.HasPrefix(path, "/") {
		path = cwd + "/" + path
	}
	if p := pathSimplify(path); p != "/" {
		return p
	}
	return ""
}

// ParseSetenv parses a systemd-run -E/--setenv argument as systemd's
// strv_env_replace_strdup_passthrough does and returns the NAME=VALUE
// entry: NAME=VALUE as given, or a bare NAME whose value lookup supplies
// (os.LookupEnv for the caller's environment; "NAME=" if it is not set).
// NAME must be letters, digits and '_', not starting with a digit
// (env_name_is_valid). The error is an [*Error] wrapping [ErrSyntax].
func ParseSetenv(arg string, lookup func(string) (string, bool)) (string, error) {
	name, value, ok := strings.Cut(arg, "=")
	if !validEnvName(name) {
		return "", &Error{Input: arg, Err: syntaxf("invalid variable name (want letters, digits and '_', not starting with a digit)")}
	}
	if !ok {
		value, _ = lookup(name)
	}
	return name + "=" + value, nil
}

// validEnvName is systemd's env_name_is_valid.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ShellMaybeQuote is systemd's shell_maybe_quote(s, SHELL_ESCAPE_EMPTY):
// s as is if no shell would split or expand it, else in double quotes,
// with '"', '\', '`' and '$' backslash-escaped and control characters and
// bytes that are not UTF-8 C-escaped (\n, \t, \ooo); "" for an empty s.
// systemd prints unit names and command lines in messages with it.
func ShellMaybeQuote(s string) string {
	if s == "" {
		return `""`
	}
	const needQuotes = " \t\n\r" + "\"\\`$" + "*?[" + "'()<>|&;!"
	i := 0
	for i < len(s) {
		r, l := utf8.DecodeRuneInString(s[i:])
		if s[i] < 0x20 || s[i] == 0x7f || r == utf8.RuneError && l == 1 || strings.IndexByte(needQuotes, s[i]) >= 0 {
			break
		}
		i += l
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		r, l := utf8.DecodeRuneInString(s[i:])
		switch {
		case c < 0x20 || c == 0x7f || r == utf8.RuneError && l == 1:
			b.WriteString(cescapeChar(c))
			i++
		case l == 1:
			if strings.IndexByte("\"\\`$", c) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
			i++
		default:
			b.WriteString(s[i : i+l])
			i += l
		}
	}
	b.WriteByte('"')
	return b.String()
}

// cescapeChar is systemd's cescape_char for one byte.
func cescapeChar(c byte) string {
	switch c {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	case '\\':
		return `\\`
	case '"':
		return `\"`
	case '\'':
		return `\'`
	}
	if c < ' ' || c >= 127 {
		return fmt.Sprintf(`\%03o`, c)
	}
	return string(c)
}

// QuoteCommandLine is systemd's quote_command_line(argv,
// SHELL_ESCAPE_EMPTY): the words, each through [ShellMaybeQuote],
// separated by spaces. systemd-run 257 makes its default description of
// it.
func QuoteCommandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, w := range argv {
		q[i] = ShellMaybeQuote(w)
	}
	return strings.Join(q, " ")
}
