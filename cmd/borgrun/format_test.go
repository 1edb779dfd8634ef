package main

import (
	"testing"
	"time"
)

func testNow() time.Time { return time.Date(2026, 11, 25, 17, 15, 0, 0, time.UTC) }

func TestFormatSpan(t *testing.T) {
	tests := []struct {
		d, acc time.Duration
		want   string
	}{
		{0, time.Millisecond, "0"},
		{12345 * time.Microsecond, time.Millisecond, "12ms"},
		{1512345 * time.Microsecond, time.Millisecond, "1.512s"},
		{65 * time.Second, time.Millisecond, "1min 5s"},
		{6*time.Hour + 52*time.Minute, time.Minute, "6h 52min"},
		{90 * time.Microsecond, time.Millisecond, "90us"},
		{49*time.Hour + 3*time.Second, time.Second, "2d 1h 3s"},
	}
	for _, tt := range tests {
		if got := formatSpan(tt.d, tt.acc); got != tt.want {
			t.Errorf("formatSpan(%v, %v) = %q, want %q", tt.d, tt.acc, got, tt.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0B", 1023: "1023B", 1024: "1.0K", 1536: "1.5K", 5 << 20: "5.0M"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatNext(t *testing.T) {
	now := testNow()
	next := now.Add(6*time.Hour + 52*time.Minute + 30*time.Second)
	if got, want := formatNext(next, now), "Thu 2026-11-26 00:07:30 UTC, in 6h 52min"; got != want {
		t.Errorf("formatNext = %q, want %q", got, want)
	}
}
