package props

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strings"
	"unicode/utf8"
)

// This file holds the value languages of systemd 252: time spans, sizes,
// booleans, C-style integers, word splitting and C escapes. Each follows
// the behaviour of the systemd function named in its doc comment, quirks
// included, because systemd-run accepts exactly what those accept.

// whitespace is systemd's WHITESPACE set.
const whitespace = " \t\n\r"

// valueError is the Err of an [Error]: a human-readable reason that
// unwraps to one of the sentinels.
type valueError struct {
	kind error // ErrSyntax, ErrRange, ...
	msg  string
}

func (e *valueError) Error() string { return e.msg }
func (e *valueError) Unwrap() error { return e.kind }

// syntaxf returns an ErrSyntax reason.
func syntaxf(format string, a ...any) error {
	return &valueError{ErrSyntax, fmt.Sprintf(format, a...)}
}

// rangef returns an ErrRange reason; its text starts with "out of range".
func rangef(format string, a ...any) error {
	return &valueError{ErrRange, "out of range " + fmt.Sprintf(format, a...)}
}

// Internal stand-ins for the errno values systemd's parsers return.
var (
	errInval = syntaxf("invalid syntax")
	errRange = rangef("for its type")
)

// describe turns a low-level parser error into a reason that names what
// was expected ("invalid time span"), keeping range errors as they are.
func describe(err error, what string) error {
	var ve *valueError
	if errors.As(err, &ve) && ve.kind == ErrRange {
		return err
	}
	return syntaxf("invalid %s", what)
}

// ParseBool parses a boolean as systemd's parse_boolean does: 1, yes, y,
// true, t and on are true and 0, no, n, false, f and off are false, all
// case-insensitively. Anything else is an [*Error] wrapping [ErrSyntax].
func ParseBool(s string) (bool, error) {
	b, err := parseBool(s)
	if err != nil {
		return false, &Error{Input: s, Err: err}
	}
	return b, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, syntaxf("invalid boolean")
}

// ParseTimespan parses a time span as systemd's parse_sec does and returns
// it in microseconds. A bare number means seconds; several components are
// summed ("1h 30min", "1h30min"); units are us, ms, s, m/min (minutes),
// h, d, w, M (months of 30.44 days) and y (365.25 days) with their long
// forms; fractions are allowed ("1.5h"). "infinity" is math.MaxUint64.
// The empty string and negative values are errors. Errors are [*Error]
// wrapping [ErrSyntax] or [ErrRange].
func ParseTimespan(s string) (usec uint64, err error) {
	v, err := parseTime(s, usecPerSec, usecUnits)
	if err != nil {
		return 0, &Error{Input: s, Err: describe(err, "time span")}
	}
	return v, nil
}

// ParseSize parses a size as systemd's parse_size does. base is 1024
// (memory sizes: K = 1024) or 1000 (bandwidth: K = 1000); any other base
// is treated as 1024. Suffixes are B, K, M, G, T, P and E, case-sensitive,
// each at most once and in decreasing order ("1G 512M"); fractions are
// allowed ("1.5G"). Errors are [*Error] wrapping [ErrSyntax] or
// [ErrRange].
func ParseSize(s string, base uint64) (uint64, error) {
	v, err := parseSize(s, base)
	if err != nil {
		return 0, &Error{Input: s, Err: describe(err, "size")}
	}
	return v, nil
}

const (
	usecPerSec   = 1000000
	usecPerMin   = 60 * usecPerSec
	usecPerHour  = 60 * usecPerMin
	usecPerDay   = 24 * usecPerHour
	usecPerWeek  = 7 * usecPerDay
	usecPerMonth = 2629800 * usecPerSec
	usecPerYear  = 31557600 * usecPerSec
)

type unit struct {
	suffix string
	mult   uint64
}

// usecUnits is the suffix table of extract_multiplier, in its order
// (first match wins, so longer suffixes come first).
var usecUnits = []unit{
	{"seconds", usecPerSec}, {"second", usecPerSec}, {"sec", usecPerSec}, {"s", usecPerSec},
	{"minutes", usecPerMin}, {"minute", usecPerMin}, {"min", usecPerMin},
	{"months", usecPerMonth}, {"month", usecPerMonth}, {"M", usecPerMonth},
	{"msec", 1000}, {"ms", 1000}, {"m", usecPerMin},
	{"hours", usecPerHour}, {"hour", usecPerHour}, {"hr", usecPerHour}, {"h", usecPerHour},
	{"days", usecPerDay}, {"day", usecPerDay}, {"d", usecPerDay},
	{"weeks", usecPerWeek}, {"week", usecPerWeek}, {"w", usecPerWeek},
	{"years", usecPerYear}, {"year", usecPerYear}, {"y", usecPerYear},
	{"usec", 1}, {"us", 1}, {"µs", 1},
}

// nsecUnits is the table of extract_nsec_multiplier; the empty suffix
// (nanoseconds) always matches last.
var nsecUnits = func() []unit {
	var u []unit
	for _, x := range usecUnits {
		u = append(u, unit{x.suffix, x.mult * 1000})
	}
	return append(u, unit{"nsec", 1}, unit{"ns", 1}, unit{"", 1})
}()

// parseTime is systemd's parse_time (with the usec table) or parse_nsec
// (with the nsec table, defaultUnit 1).
func parseTime(t string, defaultUnit uint64, units []unit) (uint64, error) {
	p := strings.TrimLeft(t, whitespace)
	if rest, ok := strings.CutPrefix(p, "infinity"); ok {
		if strings.TrimLeft(rest, whitespace) != "" {
			return 0, errInval
		}
		return math.MaxUint64, nil
	}
	var r uint64
	something := false
	for {
		p = strings.TrimLeft(p, whitespace)
		if p == "" {
			if !something {
				return 0, errInval
			}
			return r, nil
		}
		if p[0] == '-' {
			return 0, errRange
		}
		l, n, err := strtoll(p)
		if err != nil {
			return 0, err
		}
		if l < 0 {
			return 0, errRange
		}
		e := p[n:] // what follows the integer
		frac := ""
		if strings.HasPrefix(e, ".") {
			p = e[1:]
			k := 0
			for k < len(p) && isDigit(p[k]) {
				k++
			}
			frac = p[:k]
			p = p[k:]
		} else if n == 0 {
			return 0, errInval
		} else {
			p = e
		}
		multiplier := defaultUnit
		q := strings.TrimLeft(p, whitespace)
		s := q
		for _, u := range units {
			if rest, ok := strings.CutPrefix(q, u.suffix); ok {
				multiplier, s = u.mult, rest
				break
			}
		}
		if len(s) == len(p) && s != "" {
			return 0, errInval // "12.34.56"
		}
		p = s
		if uint64(l) >= math.MaxUint64/multiplier {
			return 0, errRange
		}
		k := uint64(l) * multiplier
		if k >= math.MaxUint64-r {
			return 0, errRange
		}
		r += k
		something = true
		if strings.HasPrefix(e, ".") {
			m := multiplier / 10
			for _, d := range []byte(frac) {
				k := uint64(d-'0') * m
				if k >= math.MaxUint64-r {
					return 0, errRange
				}
				r += k
				m /= 10
			}
			if frac == "" {
				return 0, errInval // "3." or "3.sec"
			}
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

type sizeUnit struct {
	suffix string
	factor uint64
}

var (
	iecUnits = []sizeUnit{{"E", 1 << 60}, {"P", 1 << 50}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}, {"", 1}}
	siUnits  = []sizeUnit{{"E", 1e18}, {"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}, {"B", 1}, {"", 1}}
)

// parseSize is systemd's parse_size.
func parseSize(t string, base uint64) (uint64, error) {
	table := iecUnits
	if base == 1000 {
		table = siUnits
	}
	var r uint64
	start := 0
	p := t
	for {
		p = strings.TrimLeft(p, whitespace)
		l, n, neg, overflow := strtoull(p, 10)
		if overflow {
			return 0, errRange
		}
		if n == 0 {
			return 0, errInval
		}
		if neg {
			return 0, errRange
		}
		e := p[n:]
		frac := 0.0
		if strings.HasPrefix(e, ".") {
			e = e[1:]
			if e != "" && isDigit(e[0]) {
				l2, n2, _, overflow := strtoull(e, 10)
				if overflow {
					return 0, errRange
				}
				frac = float64(l2)
				for range n2 {
					frac /= 10
				}
				e = e[n2:]
			}
		}
		e = strings.TrimLeft(e, whitespace)
		i := start
		for i < len(table) && !strings.HasPrefix(e, table[i].suffix) {
			i++
		}
		if i >= len(table) {
			return 0, errInval
		}
		f := table[i].factor
		one := uint64(0)
		if frac > 0 {
			one = 1
		}
		if l+one < l || l+one > math.MaxUint64/f {
			return 0, errRange
		}
		tmp := l*f + uint64(frac*float64(f))
		if tmp > math.MaxUint64-r {
			return 0, errRange
		}
		r += tmp
		p = e[len(table[i].suffix):]
		start = i + 1
		if p == "" {
			return r, nil
		}
	}
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// strtoull mimics C's strtoull(s, &end, base) for base 0, 2, 8, 10 or 16:
// it returns the value (negated modulo 2^64 after a '-'), how many bytes
// it consumed (0 if there were no digits), whether a '-' was seen and
// whether the magnitude overflowed.
func strtoull(s string, base int) (v uint64, n int, neg, overflow bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') &&
		i+2 < len(s) && digitVal(s[i+2]) < 16 {
		base = 16
		i += 2
	} else if base == 0 {
		if i < len(s) && s[i] == '0' {
			base = 8
		} else {
			base = 10
		}
	}
	start := i
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if v > (math.MaxUint64-uint64(d))/uint64(base) {
			overflow = true
		}
		v = v*uint64(base) + uint64(d)
		i++
	}
	if i == start {
		return 0, 0, false, false
	}
	if overflow {
		v = math.MaxUint64
	} else if neg {
		v = -v
	}
	return v, i, neg, overflow
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// strtoll mimics C's strtoll(s, &end, 10), returning the value and the
// number of bytes consumed; overflow is a range error.
func strtoll(s string) (int64, int, error) {
	v, n, neg, overflow := strtoull(s, 10)
	if n == 0 {
		return 0, 0, nil
	}
	mag := v
	if neg {
		mag = -v
	}
	if overflow || (!neg && mag > math.MaxInt64) || (neg && mag > 1<<63) {
		return 0, n, errRange
	}
	if neg {
		return -int64(mag-1) - 1, n, nil
	}
	return int64(mag), n, nil
}

// mangleBase is systemd's mangle_base: "0b" and "0o" prefixes select
// bases 2 and 8 when no base is given.
func mangleBase(s string, base int) (string, int) {
	if base != 0 {
		return s, base
	}
	if len(s) >= 2 && s[0] == '0' {
		switch s[1] {
		case 'b', 'B':
			return s[2:], 2
		case 'o', 'O':
			return s[2:], 8
		}
	}
	return s, base
}

// safeAtou64 is systemd's safe_atou64 (base 0: decimal, 0x hex, 0 octal,
// 0b binary, 0o octal; leading whitespace allowed).
func safeAtou64(s string) (uint64, error) { return safeAtou64Base(s, 0) }

func safeAtou64Base(s string, base int) (uint64, error) {
	s = strings.TrimLeft(s, whitespace)
	s, base = mangleBase(s, base)
	v, n, neg, overflow := strtoull(s, base)
	if overflow {
		return 0, errRange
	}
	if n == 0 || n != len(s) {
		return 0, errInval
	}
	if v != 0 && neg {
		return 0, errRange
	}
	return v, nil
}

// safeAtou is systemd's safe_atou: safeAtou64 limited to 32 bits.
func safeAtou(s string) (uint32, error) {
	v, err := safeAtou64(s)
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, errRange
	}
	return uint32(v), nil
}

// safeAtoi64 is systemd's safe_atolli.
func safeAtoi64(s string) (int64, error) {
	s = strings.TrimLeft(s, whitespace)
	s, base := mangleBase(s, 0)
	v, n, neg, overflow := strtoull(s, base)
	if n == 0 || n != len(s) {
		return 0, errInval
	}
	mag := v
	if neg {
		mag = -v
	}
	if overflow || (!neg && mag > math.MaxInt64) || (neg && mag > 1<<63) {
		return 0, errRange
	}
	if neg {
		return -int64(mag-1) - 1, nil
	}
	return int64(mag), nil
}

// safeAtoi is systemd's safe_atoi: safeAtoi64 limited to 32 bits.
func safeAtoi(s string) (int32, error) {
	v, err := safeAtoi64(s)
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, errRange
	}
	return int32(v), nil
}

// parseMode is systemd's parse_mode: octal, at most 07777, no sign.
func parseMode(s string) (uint32, error) {
	t := strings.TrimLeft(s, whitespace)
	if t != "" && (t[0] == '+' || t[0] == '-') {
		return 0, errInval
	}
	v, n, _, overflow := strtoull(t, 8)
	if overflow {
		return 0, errRange
	}
	if n == 0 || n != len(t) {
		return 0, errInval
	}
	if v > 0o7777 {
		return 0, rangef("0..07777")
	}
	return uint32(v), nil
}

// parsePermyriad is systemd's parse_permyriad_unbounded: "N%", "N.N%",
// "N.NN%", "N‰", "N.N‰" or "N‱", returned in 1/10000.
func parsePermyriad(p string) (int, error) {
	if n, ok := strings.CutSuffix(p, "‱"); ok {
		return partsWhole(n)
	}
	if n, ok := strings.CutSuffix(p, "‰"); ok {
		return partsFraction(n, 1)
	}
	if n, ok := strings.CutSuffix(p, "%"); ok {
		return partsFraction(n, 2)
	}
	return 0, errInval
}

func partsWhole(n string) (int, error) {
	v, err := safeAtoi(n)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, errRange
	}
	return int(v), nil
}

// partsFraction parses "N", "N.D" or (digits == 2) "N.DD" and scales the
// result by 10^digits.
func partsFraction(n string, digits int) (int, error) {
	scale, q := 10, 0
	if digits == 2 {
		scale = 100
	}
	if dot := strings.IndexByte(n, '.'); dot >= 0 {
		f := n[dot+1:]
		if len(f) < 1 || len(f) > digits {
			return 0, errInval
		}
		for _, c := range []byte(f) {
			if !isDigit(c) {
				return 0, errInval
			}
		}
		q = int(f[0]-'0') * (scale / 10)
		if len(f) == 2 {
			q += int(f[1] - '0')
		}
		n = n[:dot]
	}
	v, err := safeAtoi(n)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, errRange
	}
	if int64(v) > (math.MaxInt32-int64(q))/int64(scale) {
		return 0, errRange
	}
	return int(v)*scale + q, nil
}

// scaleFromPermyriad is UINT32_SCALE_FROM_PERMYRIAD.
func scaleFromPermyriad(p int) uint32 {
	p = min(max(p, 0), 10000)
	return uint32((uint64(p)*math.MaxUint32 + 5000) / 10000)
}

// Flags of extract_first_word.
type extractFlags uint

const (
	exRelax extractFlags = 1 << iota
	exCUnescape
	exUnescapeRelax
	exUnescapeSeparators
	exKeepQuote
	exUnquote
	exDontCoalesce
	exRetainEscape
	exRetainSeparators
)

// cursor is the "const char **p" of extract_first_word: the rest of the
// input, or done once the C pointer would be NULL.
type cursor struct {
	s    string
	done bool
	prev byte // the byte before s in the input, e.g. the separator just consumed
}

// prevSep reports whether the last word ended at separator sep and more
// input follows (the C code's "p && p[-1] == sep").
func (c *cursor) prevSep(sep byte) bool { return !c.done && c.prev == sep }

// rest returns the remaining input ("" when done).
func (c *cursor) rest() string {
	if c.done {
		return ""
	}
	return c.s
}

// next is systemd's extract_first_word. It returns the word and whether
// there was one; the cursor is advanced as the C function advances *p.
func (c *cursor) next(seps string, flags extractFlags) (string, bool, error) {
	if c.done {
		return "", false, nil
	}
	s := c.s
	i := 0
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	isSep := func(b byte) bool { return b != 0 && strings.IndexByte(seps, b) >= 0 }
	var w []byte
	finishNext := func(i int) (string, bool, error) {
		if i > 0 {
			c.prev = s[i-1]
		}
		c.s = s[i:]
		return string(w), true, nil
	}
	terminate := func() (string, bool, error) {
		c.done, c.s = true, ""
		return string(w), true, nil
	}
	for ; ; i++ {
		ch := at(i)
		if ch == 0 {
			if flags&exDontCoalesce != 0 {
				return terminate()
			}
			c.done, c.s = true, ""
			return "", false, nil
		}
		if !isSep(ch) {
			break
		}
		if flags&exDontCoalesce != 0 {
			if flags&exRetainSeparators == 0 {
				i++
			}
			return finishNext(i)
		}
	}
	var quote byte
	backslash := false
	for ; ; i++ {
		ch := at(i)
		switch {
		case backslash:
			if ch == 0 {
				if flags&exUnescapeRelax != 0 && (quote == 0 || flags&exRelax != 0) {
					w = append(w, '\\')
					return terminate()
				}
				if flags&exRelax != 0 {
					return terminate()
				}
				return "", false, syntaxf("trailing backslash")
			}
			if flags&(exCUnescape|exUnescapeSeparators) != 0 {
				if n, u, eight, ok := cunescapeOne(s[i:], false); flags&exCUnescape != 0 && ok {
					i += n - 1
					if eight {
						w = append(w, byte(u))
					} else {
						w = appendUnichar(w, u)
					}
				} else if flags&exUnescapeSeparators != 0 && (isSep(ch) || ch == '\\') {
					w = append(w, ch)
				} else if flags&exUnescapeRelax != 0 {
					w = append(w, '\\', ch)
				} else {
					return "", false, syntaxf("invalid escape sequence")
				}
			} else {
				w = append(w, ch)
			}
			backslash = false
		case quote != 0:
			for ; ; i++ {
				ch = at(i)
				if ch == 0 {
					if flags&exRelax != 0 {
						return terminate()
					}
					return "", false, syntaxf("unbalanced quotes")
				} else if ch == quote {
					quote = 0
					if flags&exUnquote != 0 {
						break
					}
				} else if ch == '\\' && flags&exRetainEscape == 0 {
					backslash = true
					break
				}
				w = append(w, ch)
				if quote == 0 {
					break
				}
			}
		default:
			for ; ; i++ {
				ch = at(i)
				if ch == 0 {
					return terminate()
				} else if (ch == '\'' || ch == '"') && flags&(exKeepQuote|exUnquote) != 0 {
					quote = ch
					if flags&exUnquote != 0 {
						break
					}
				} else if ch == '\\' && flags&exRetainEscape == 0 {
					backslash = true
					break
				} else if isSep(ch) {
					if flags&exDontCoalesce != 0 {
						if flags&exRetainSeparators == 0 {
							i++
						}
						return finishNext(i)
					}
					if flags&exRetainSeparators == 0 {
						for {
							i++
							if at(i) == 0 {
								return terminate()
							}
							if !isSep(at(i)) {
								break
							}
						}
					}
					return finishNext(i)
				}
				w = append(w, ch)
				if quote != 0 {
					break
				}
			}
		}
	}
}

// splitWords splits s into all its words with extract_first_word.
func splitWords(s, seps string, flags extractFlags) ([]string, error) {
	c := cursor{s: s}
	words := []string{}
	for {
		w, ok, err := c.next(seps, flags)
		if err != nil {
			return nil, err
		}
		if !ok {
			return words, nil
		}
		words = append(words, w)
	}
}

func unhexchar(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// cunescapeOne is systemd's cunescape_one on the text after a backslash.
// It returns how many bytes it consumed, the character, and whether the
// character is a raw byte rather than a code point.
func cunescapeOne(p string, acceptNul bool) (n int, u rune, eightBit, ok bool) {
	at := func(i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	switch c := at(0); c {
	case 'a':
		return 1, '\a', false, true
	case 'b':
		return 1, '\b', false, true
	case 'f':
		return 1, '\f', false, true
	case 'n':
		return 1, '\n', false, true
	case 'r':
		return 1, '\r', false, true
	case 't':
		return 1, '\t', false, true
	case 'v':
		return 1, '\v', false, true
	case '\\', '"', '\'':
		return 1, rune(c), false, true
	case 's':
		return 1, ' ', false, true
	case 'x':
		a, b := unhexchar(at(1)), unhexchar(at(2))
		if a < 0 || b < 0 || (a == 0 && b == 0 && !acceptNul) {
			return 0, 0, false, false
		}
		return 3, rune(a<<4 | b), true, true
	case 'u', 'U':
		digits := 4
		if c == 'U' {
			digits = 8
		}
		var v uint32
		for i := 1; i <= digits; i++ {
			d := unhexchar(at(i))
			if d < 0 {
				return 0, 0, false, false
			}
			v = v<<4 | uint32(d)
		}
		if v == 0 && !acceptNul {
			return 0, 0, false, false
		}
		if c == 'U' && !unicharValid(v) {
			return 0, 0, false, false
		}
		return digits + 1, rune(v), false, true
	case '0', '1', '2', '3', '4', '5', '6', '7':
		var m int
		for i := range 3 {
			d := at(i)
			if d < '0' || d > '7' {
				return 0, 0, false, false
			}
			m = m<<3 | int(d-'0')
		}
		if (m == 0 && !acceptNul) || m > 255 {
			return 0, 0, false, false
		}
		return 3, rune(m), true, true
	}
	return 0, 0, false, false
}

// cunescape is systemd's cunescape (strict: an invalid escape or a
// trailing backslash is an error).
func cunescape(s string, acceptNul bool) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		if i+1 == len(s) {
			return nil, syntaxf("trailing backslash")
		}
		n, u, eight, ok := cunescapeOne(s[i+1:], acceptNul)
		if !ok {
			return nil, syntaxf("invalid escape sequence")
		}
		i += n
		if eight {
			out = append(out, byte(u))
		} else {
			out = appendUnichar(out, u)
		}
	}
	return out, nil
}

// unicharValid is systemd's unichar_is_valid.
func unicharValid(c uint32) bool {
	return c < 0x110000 && c&0xFFFFF800 != 0xD800 && (c < 0xFDD0 || c > 0xFDEF) && c&0xFFFE != 0xFFFE
}

// appendUnichar is systemd's utf8_encode_unichar, which also encodes
// surrogates (the result is then rejected as a D-Bus string).
func appendUnichar(b []byte, r rune) []byte {
	g := uint32(r)
	switch {
	case g < 1<<7:
		return append(b, byte(g))
	case g < 1<<11:
		return append(b, 0xc0|byte(g>>6&0x1f), 0x80|byte(g&0x3f))
	case g < 1<<16:
		return append(b, 0xe0|byte(g>>12&0x0f), 0x80|byte(g>>6&0x3f), 0x80|byte(g&0x3f))
	case g < 1<<21:
		return append(b, 0xf0|byte(g>>18&0x07), 0x80|byte(g>>12&0x3f), 0x80|byte(g>>6&0x3f), 0x80|byte(g&0x3f))
	}
	return b
}

// validDBusString reports whether sd-bus accepts s as a string: valid
// UTF-8 of valid code points, no NUL.
func validDBusString(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r == 0 || !unicharValid(uint32(r)) {
			// RuneError itself (U+FFFD) is valid when really encoded.
			if r == utf8.RuneError && strings.Contains(s, "\uFFFD") && utf8.ValidString(s) {
				continue
			}
			return false
		}
	}
	return true
}

// unbase64 is systemd's unbase64mem: standard alphabet, whitespace
// ignored, padding required.
func unbase64(s string) ([]byte, error) {
	var vals []int
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(whitespace, c) >= 0 {
			continue
		}
		switch {
		case c == '=':
			vals = append(vals, 64)
		case c >= 'A' && c <= 'Z':
			vals = append(vals, int(c-'A'))
		case c >= 'a' && c <= 'z':
			vals = append(vals, int(c-'a')+26)
		case c >= '0' && c <= '9':
			vals = append(vals, int(c-'0')+52)
		case c == '+':
			vals = append(vals, 62)
		case c == '/':
			vals = append(vals, 63)
		default:
			return nil, syntaxf("invalid base64")
		}
	}
	out := []byte{}
	for i := 0; i < len(vals); i += 4 {
		if i+4 > len(vals) {
			return nil, syntaxf("invalid base64")
		}
		a, b, c, d := vals[i], vals[i+1], vals[i+2], vals[i+3]
		last := i+4 == len(vals)
		switch {
		case a == 64 || b == 64:
			return nil, syntaxf("invalid base64")
		case c == 64:
			if d != 64 || b&15 != 0 || !last {
				return nil, syntaxf("invalid base64")
			}
			return append(out, byte(a<<2|b>>4)), nil
		case d == 64:
			if c&3 != 0 || !last {
				return nil, syntaxf("invalid base64")
			}
			return append(out, byte(a<<2|b>>4), byte(b<<4|c>>2)), nil
		}
		out = append(out, byte(a<<2|b>>4), byte(b<<4|c>>2), byte(c<<6|d))
	}
	return out, nil
}

// unhex is systemd's unhexmem: whitespace ignored, an even number of
// hex digits.
func unhex(s string) ([]byte, error) {
	var digits []byte
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(whitespace, s[i]) >= 0 {
			continue
		}
		if unhexchar(s[i]) < 0 {
			return nil, syntaxf("invalid hex")
		}
		digits = append(digits, s[i])
	}
	if len(digits)%2 != 0 {
		return nil, syntaxf("invalid hex")
	}
	out := make([]byte, 0, len(digits)/2)
	for i := 0; i < len(digits); i += 2 {
		out = append(out, byte(unhexchar(digits[i])<<4|unhexchar(digits[i+1])))
	}
	return out, nil
}

// pathSimplify is systemd's path_simplify: it drops redundant slashes and
// "." components.
func pathSimplify(path string) string {
	if path == "" {
		return path
	}
	var b strings.Builder
	p := path
	if p[0] == '/' {
		b.WriteByte('/')
		p = p[1:]
	}
	addSlash := false
	for {
		// skip_slash_or_dot
		for {
			if strings.HasPrefix(p, "/") {
				p = p[1:]
			} else if strings.HasPrefix(p, "./") {
				p = p[2:]
			} else {
				break
			}
		}
		if p == "" || p == "." {
			break
		}
		end := strings.IndexByte(p, '/')
		if end < 0 {
			end = len(p)
		}
		if addSlash {
			b.WriteByte('/')
		}
		if end > 255 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:end])
		p = p[end:]
		addSlash = true
	}
	if b.Len() == 0 {
		return "."
	}
	return b.String()
}

// errnoNames maps the errno names of glibc's errno.h (as systemd 252 is
// built on Debian 12) to their numbers; systemd matches them
// case-insensitively.
var errnoNames = map[string]int32{
	"ENOPROTOOPT": 92, "EMSGSIZE": 90, "EINPROGRESS": 115, "ENOSR": 63, "ELIBEXEC": 83, "EBADE": 52,
	"ETOOMANYREFS": 109, "ESTRPIPE": 86, "ENOTUNIQ": 76, "EHOSTUNREACH": 113, "EBADMSG": 74, "EREMOTEIO": 121,
	"EPROTO": 71, "EOVERFLOW": 75, "ENOKEY": 126, "ENODATA": 61, "ENETDOWN": 100, "EMEDIUMTYPE": 124, "ELIBMAX": 82, "EL2NSYNC": 45, "ENOMSG": 42, "EHWPOISON": 133, "EDEADLOCK": 35, "ECONNABORTED": 103, "ESRCH": 3,
	"ERESTART": 85, "ENOTRECOVERABLE": 131, "ENOTNAM": 118, "EADDRNOTAVAIL": 99, "EOPNOTSUPP": 95, "ENFILE": 23,
	"EAGAIN": 11, "EXFULL": 54, "ESTALE": 116, "ENOSPC": 28, "ESOCKTNOSUPPORT": 94, "ENOLCK": 37, "ENOMEDIUM": 123, "EIDRM": 43, "EOWNERDEAD": 130, "ENONET": 64, "ENOTCONN": 107, "EEXIST": 17, "EADDRINUSE": 98, "EFBIG": 27, "EFAULT": 14, "EUNATCH": 49, "EBUSY": 16, "EACCES": 13, "ECHILD": 10, "EPROTONOSUPPORT": 93, "EMULTIHOP": 72, "E2BIG": 7, "ETIMEDOUT": 110, "EINTR": 4, "EADV": 68, "ENOTEMPTY": 39, "ENETRESET": 102, "ENOTSUP": 95,
	"ELNRNG": 48, "EAFNOSUPPORT": 97, "EROFS": 30, "EPIPE": 32, "ENOTBLK": 15, "ENOENT": 2, "EDOM": 33,
	"EWOULDBLOCK": 11, "ESRMNT": 69, "EL3HLT": 46, "EBADRQC": 56, "ENOTDIR": 20, "ELIBSCN": 81, "EL3RST": 47,
	"EPFNOSUPPORT": 96, "ENOCSI": 50, "ENXIO": 6, "ENOSTR": 60, "EL2HLT": 51, "ECONNREFUSED": 111, "ENETUNREACH": 101, "EBFONT": 59, "ENOTSOCK": 88, "ENOANO": 55, "ENAVAIL": 119, "EMFILE": 24, "ETXTBSY": 26, "ESHUTDOWN": 108, "EHOSTDOWN": 112, "EMLINK": 31, "ECANCELED": 125, "ENOMEM": 12, "EISNAM": 120, "EIO": 5, "ENAMETOOLONG": 36, "EKEYREJECTED": 129, "ENODEV": 19, "EBADF": 9, "EUSERS": 87, "ERFKILL": 132, "ECOMM": 70, "ECHRNG": 44,
	"EBADSLT": 57, "ECONNRESET": 104, "EBADFD": 77, "ENOTTY": 25, "ENOEXEC": 8, "ELIBBAD": 80, "EDOTDOT": 73,
	"ENOLINK": 67, "EKEYREVOKED": 128, "EBADR": 53, "EUCLEAN": 117, "EKEYEXPIRED": 127, "ESPIPE": 29, "ERANGE": 34, "EREMOTE": 66, "EPROTOTYPE": 91, "EISCONN": 106, "EINVAL": 22, "EDEADLK": 35, "EREMCHG": 78, "ELIBACC": 79, "ETIME": 62, "ENOBUFS": 105, "ENOSYS": 38, "EILSEQ": 84, "EALREADY": 114, "EDQUOT": 122, "EDESTADDRREQ": 89, "EPERM": 1, "ELOOP": 40, "EXDEV": 18, "ENOPKG": 65, "EISDIR": 21}

// signalNames is systemd's static_signal_table (Linux x86 numbering).
var signalNames = map[string]int32{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
	"USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16,
	"CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
	"XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30, "SYS": 31,
}

// glibc's SIGRTMIN and SIGRTMAX as seen by programs.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// signalFromString is systemd's signal_from_string: a number 1..64, a
// name with or without "SIG", RTMIN+n or RTMAX-n.
func signalFromString(s string) (int32, error) {
	if n, err := safeAtoi(s); err == nil {
		if n <= 0 || n > sigRTMax {
			return 0, rangef("1..%d", sigRTMax)
		}
		return n, nil
	}
	s = strings.TrimPrefix(s, "SIG")
	if n, ok := signalNames[s]; ok {
		return n, nil
	}
	bad := syntaxf("invalid signal: use a name like SIGTERM, RTMIN+n or a number")
	if p, ok := strings.CutPrefix(s, "RTMIN"); ok {
		if p == "" {
			return sigRTMin, nil
		}
		if p[0] != '+' {
			return 0, bad
		}
		n, err := safeAtoi(p)
		if err != nil {
			return 0, bad
		}
		if n < 0 || n > sigRTMax-sigRTMin {
			return 0, rangef("RTMIN+0..RTMIN+%d", sigRTMax-sigRTMin)
		}
		return n + sigRTMin, nil
	}
	if p, ok := strings.CutPrefix(s, "RTMAX"); ok {
		if p == "" {
			return sigRTMax, nil
		}
		if p[0] != '-' {
			return 0, bad
		}
		n, err := safeAtoi(p)
		if err != nil {
			return 0, bad
		}
		if n > 0 || n < sigRTMin-sigRTMax {
			return 0, rangef("RTMAX-%d..RTMAX-0", sigRTMax-sigRTMin)
		}
		return n + sigRTMax, nil
	}
	return 0, bad
}

// exitStatusNames is [exitStatuses] by name, as systemd 252's
// exit_status_from_string reads it.
var exitStatusNames = func() map[string]int32 {
	m := make(map[string]int32, len(exitStatuses))
	for n, e := range exitStatuses {
		if e.since <= OldestVersion {
			m[e.name] = int32(n)
		}
	}
	return m
}()

// exitStatusFromString is systemd's exit_status_from_string.
func exitStatusFromString(s string) (int32, bool) {
	if n, ok := exitStatusNames[s]; ok {
		return n, true
	}
	u, err := safeAtou(s)
	if err != nil || u > 255 {
		return 0, false
	}
	return int32(u), true
}

// capabilityNames lists the capabilities systemd 252 knows, by number.
var capabilityNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
	"cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
	"cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct",
	"cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource", "cap_sys_time",
	"cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write", "cap_audit_control",
	"cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
}

// capabilitySetFromString is systemd's capability_set_from_string: words
// are names (case-insensitive) or numbers 0..63; unknown words are
// ignored, and a syntax error ends the list silently.
func capabilitySetFromString(s string) uint64 {
	var set uint64
	c := cursor{s: s}
	for {
		w, ok, err := c.next(whitespace, exUnquote)
		if err != nil || !ok {
			return set
		}
		if n, err := safeAtoi(w); err == nil {
			if n >= 0 && n < 64 {
				set |= 1 << uint(n)
			}
			continue
		}
		for i, name := range capabilityNames {
			if strings.EqualFold(w, name) {
				set |= 1 << uint(i)
				break
			}
		}
	}
}

// cpuSet is systemd's CPUSet, serialised as cpu_set_to_dbus does: a
// little-endian bitmask in whole 64-bit words.
type cpuSet struct {
	bits      []byte
	allocated bool
}

func (c *cpuSet) realloc(ncpus uint) {
	need := int((ncpus + 63) / 64 * 8)
	if need > len(c.bits) {
		c.bits = append(c.bits, make([]byte, need-len(c.bits))...)
	}
	c.allocated = true
}

func (c *cpuSet) add(cpu uint) error {
	if cpu >= 8192 {
		return rangef("0..8191")
	}
	c.realloc(cpu + 1)
	c.bits[cpu/8] |= 1 << (cpu % 8)
	return nil
}

// parseRange is systemd's parse_range: "N" or "N-M".
func parseRange(s string) (uint32, uint32, error) {
	c := cursor{s: s}
	w, ok, err := c.next("-", exDontCoalesce)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, errInval
	}
	lo, err := safeAtou(w)
	if err != nil {
		return 0, 0, err
	}
	if c.done {
		return lo, lo, nil
	}
	if c.s == "" {
		return 0, 0, errInval
	}
	hi, err := safeAtou(c.s)
	if err != nil {
		return 0, 0, err
	}
	return lo, hi, nil
}

// parseCPUSet is systemd's parse_cpu_set: CPU numbers and ranges
// separated by spaces or commas.
func parseCPUSet(s string) (*cpuSet, error) {
	set := &cpuSet{}
	c := cursor{s: s}
	for {
		w, ok, err := c.next(whitespace+",", exUnquote)
		if err != nil {
			return nil, err
		}
		if !ok {
			return set, nil
		}
		lo, hi, err := parseRange(w)
		if err != nil {
			return nil, syntaxf("invalid CPU range %q", w)
		}
		if lo > hi {
			set.realloc(1)
		}
		for cpu := uint64(min(hi, math.MaxUint32-1)) + 1; cpu > uint64(lo); cpu-- {
			if err := set.add(uint(cpu - 1)); err != nil {
				return nil, err
			}
		}
	}
}

// numaMaxNode is systemd's numa_max_node, used for NUMAMask=all: the
// highest /sys/devices/system/node/nodeN, or 1023 if that cannot be read.
func numaMaxNode() int {
	entries, err := os.ReadDir("/sys/devices/system/node")
	if err != nil {
		return 1023
	}
	m := 0
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "node")
		if !ok || !e.IsDir() {
			continue
		}
		if v, err := safeAtoi(n); err == nil && int(v) > m {
			m = int(v)
		}
	}
	return m
}

// Address families as Linux numbers them.
const (
	afInet  = 2
	afInet6 = 10
)

// parseIPPrefix is systemd's in_addr_prefix_from_string_auto: an IPv4 or
// IPv6 address with an optional /prefixlen (default: the full length).
func parseIPPrefix(s string) (ipAddress, error) {
	addr, plen, hasLen := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" || (a.Is4() && strings.Contains(addr, ":")) {
		return ipAddress{}, syntaxf("invalid IP address prefix %q", s)
	}
	ip := ipAddress{Family: afInet, Address: a.AsSlice(), PrefixLen: 32}
	if a.Is6() {
		ip.Family, ip.PrefixLen = afInet6, 128
	}
	if hasLen {
		u, err := safeAtou(plen)
		if err != nil || u > 255 {
			return ipAddress{}, syntaxf("invalid IP address prefix %q", s)
		}
		if u > ip.PrefixLen {
			return ipAddress{}, rangef("prefix length 0..%d", ip.PrefixLen)
		}
		ip.PrefixLen = u
	}
	return ip, nil
}

// isLocalhost is systemd's is_localhost.
func isLocalhost(h string) bool {
	l := strings.ToLower(h)
	switch l {
	case "localhost", "localhost.", "localhost.localdomain", "localhost.localdomain.":
		return true
	}
	for _, suf := range []string{".localhost", ".localhost.", ".localhost.localdomain", ".localhost.localdomain."} {
		if strings.HasSuffix(l, suf) {
			return true
		}
	}
	return false
}

// parseSocketBind is systemd's parse_socket_bind_item:
// [ipv4|ipv6:][tcp|udp:](any|PORT|PORT-PORT).
func parseSocketBind(s string) (socketBind, error) {
	bad := syntaxf("invalid socket bind rule: use [ipv4|ipv6:][tcp|udp:](any|PORT[-PORT])")
	if s == "" {
		return socketBind{}, bad
	}
	var sb socketBind
	parsers := []func(string) bool{
		func(t string) bool {
			switch t {
			case "ipv4":
				sb.Family = afInet
			case "ipv6":
				sb.Family = afInet6
			default:
				return false
			}
			return true
		},
		func(t string) bool {
			switch strings.ToLower(t) {
			case "tcp":
				sb.Protocol = 6
			case "udp":
				sb.Protocol = 17
			default:
				return false
			}
			return true
		},
		func(t string) bool {
			if t == "any" {
				sb.NPorts, sb.PortMin = 0, 0
				return true
			}
			lo, hi, err := parseRange(t)
			if err != nil || lo == 0 || lo > 65535 || hi == 0 || hi > 65535 || hi < lo {
				return false
			}
			sb.NPorts, sb.PortMin = uint16(hi-lo+1), uint16(lo)
			return true
		},
	}
	next := 0
	c := cursor{s: s}
	okLast := true
	for {
		t, ok, err := c.next(":", exDontCoalesce)
		if err != nil {
			return socketBind{}, bad
		}
		if !ok {
			break
		}
		if t == "" {
			return socketBind{}, bad
		}
		okLast = false
		for next < len(parsers) {
			okLast = parsers[next](t)
			next++
			if okLast {
				break
			}
		}
		if next == len(parsers) {
			break
		}
	}
	if !okLast || !c.done {
		return socketBind{}, bad
	}
	return sb, nil
}

// rlimitKinds says how each Limit*= value is parsed.
var rlimitKinds = map[string]string{
	"CPU": "sec", "FSIZE": "size", "DATA": "size", "STACK": "size", "CORE": "size", "RSS": "size",
	"NOFILE": "u64", "AS": "size", "NPROC": "u64", "MEMLOCK": "size", "LOCKS": "u64",
	"SIGPENDING": "u64", "MSGQUEUE": "size", "NICE": "nice", "RTPRIO": "u64", "RTTIME": "usec",
}

// parseRlimitOne is systemd's rlimit_parse_one for one value.
func parseRlimitOne(kind, v string) (uint64, error) {
	if v == "infinity" {
		return math.MaxUint64, nil
	}
	switch kind {
	case "u64":
		u, err := safeAtou64(v)
		if err != nil {
			return 0, err
		}
		if u == math.MaxUint64 {
			return 0, errRange
		}
		return u, nil
	case "size":
		u, err := parseSize(v, 1024)
		if err != nil {
			return 0, err
		}
		if u == math.MaxUint64 {
			return 0, errRange
		}
		return u, nil
	case "sec":
		t, err := parseTime(v, usecPerSec, usecUnits)
		if err != nil {
			return 0, err
		}
		if t == math.MaxUint64 {
			return t, nil
		}
		u := t / usecPerSec
		if t%usecPerSec != 0 {
			u++
		}
		return u, nil
	case "usec":
		return parseTime(v, 1, usecUnits)
	case "nice":
		switch {
		case strings.HasPrefix(v, "+"):
			u, err := safeAtou64(v[1:])
			if err != nil {
				return 0, err
			}
			if u >= 20 {
				return 0, rangef("nice +0..+19")
			}
			return 20 - u, nil
		case strings.HasPrefix(v, "-"):
			u, err := safeAtou64(v[1:])
			if err != nil {
				return 0, err
			}
			if u > 20 {
				return 0, rangef("nice -20..-0")
			}
			return 20 + u, nil
		}
		u, err := safeAtou64(v)
		if err != nil {
			return 0, err
		}
		if u > 40 {
			return 0, rangef("0..40")
		}
		return u, nil
	}
	return 0, errInval
}

// parseRlimit is systemd's rlimit_parse: "VALUE" or "SOFT:HARD".
func parseRlimit(kind, v string) (soft, hard uint64, err error) {
	c := cursor{s: v}
	s, ok, err := c.next(":", exDontCoalesce)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, errInval
	}
	if soft, err = parseRlimitOne(kind, s); err != nil {
		return 0, 0, err
	}
	h, ok, err := c.next(":", exDontCoalesce)
	if err != nil {
		return 0, 0, err
	}
	if c.rest() != "" {
		return 0, 0, errInval
	}
	if !ok {
		return soft, soft, nil
	}
	if hard, err = parseRlimitOne(kind, h); err != nil {
		return 0, 0, err
	}
	if soft > hard {
		return 0, 0, syntaxf("soft limit above hard limit")
	}
	return soft, hard, nil
}

// many is systemd's extract_many_words for up to n words: it stops at
// the first missing word.
func (c *cursor) many(seps string, flags extractFlags, n int) ([]string, error) {
	var words []string
	for range n {
		w, ok, err := c.next(seps, flags)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		words = append(words, w)
	}
	return words, nil
}
