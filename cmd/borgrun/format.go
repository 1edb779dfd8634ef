package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// formatSpan renders d as systemd's format_timespan does, with the given
// accuracy: "12ms", "1.512s", "1min 5s", "infinity".
func formatSpan(d, accuracy time.Duration) string {
	t := uint64(d / time.Microsecond)
	if d < 0 {
		return "0"
	}
	if t == math.MaxUint64 {
		return "infinity"
	}
	acc := uint64(accuracy / time.Microsecond)
	if acc == 0 {
		acc = 1
	}
	if t == 0 {
		return "0"
	}
	units := []struct {
		suffix string
		usec   uint64
	}{
		{"y", 31557600 * 1e6}, {"month", 2629800 * 1e6}, {"w", 604800 * 1e6},
		{"d", 86400 * 1e6}, {"h", 3600 * 1e6}, {"min", 60 * 1e6},
		{"s", 1e6}, {"ms", 1e3}, {"us", 1},
	}
	var b strings.Builder
	something := false
	for _, u := range units {
		if t == 0 || (t < acc && something) {
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
		if t < 60*1e6 && rest > 0 {
			j := 0
			for cc := u.usec; cc > 1; cc /= 10 {
				j++
			}
			r := rest
			for cc := acc; cc > 1; cc /= 10 {
				r /= 10
				j--
			}
			if j > 0 {
				fmt.Fprintf(&b, "%s%d.%0*d%s", sep, a, j, r, u.suffix)
				t = 0
				something = true
				break
			}
		}
		fmt.Fprintf(&b, "%s%d%s", sep, a, u.suffix)
		t = rest
		something = true
	}
	return b.String()
}

// formatBytes renders n as systemd's format_bytes does: "4.0K", "1.5M", "512B".
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	for i := len(units) - 1; i >= 0; i-- {
		f := uint64(1) << (10 * (i + 1))
		if n >= f {
			return fmt.Sprintf("%d.%d%c", n/f, (n%f)*10/f, units[i])
		}
	}
	return fmt.Sprintf("%dB", n)
}

// formatNext renders a next-run time with its distance from now, as
// systemctl list-timers does: "Thu 2026-11-26 00:07:00 UTC, in 6h 52min".
func formatNext(next, now time.Time) string {
	if next.IsZero() {
		return "none"
	}
	return next.Format("Mon 2006-01-02 15:04:05 MST") + ", in " + formatSpan(next.Sub(now).Truncate(time.Minute), time.Minute)
}
