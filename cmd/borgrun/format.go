package main

import (
	"fmt"
	"time"

	"github.com/borgrun/borgrun/props"
)

// formatSpan renders d as systemd's format_timespan does, to the given
// accuracy.
func formatSpan(d, accuracy time.Duration) string {
	if d < 0 {
		d = 0
	}
	return props.FormatTimespan(uint64(d/time.Microsecond), uint64(accuracy/time.Microsecond))
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
