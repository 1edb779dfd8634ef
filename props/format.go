package props

import (
	"fmt"
	"math"
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
