package props

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var updateCalendar = flag.Bool("update-calendar", false, "rewrite testdata/calendar.golden")

// calendarBase is the time the golden file's elapses follow.
var calendarBase = time.Date(2023, 11, 14, 22, 13, 20, 250000000, time.UTC)

// calendarTests are the inputs of testdata/calendar.golden, which records
// for each its normalized form and next 5 elapses after calendarBase, or
// its error. The local zone is UTC. Regenerate with
//
//	go test ./props -run TestCalendarGolden -update-calendar
var calendarTests = []string{
	// Shortcuts, in any case.
	"minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "anually",
	"quarterly", "semiannually", "semi-annually", "biannually", "bi-annually", "DAILY", "Weekly",
	"daily UTC", "hourly Asia/Tokyo", "fortnightly", "secondly",

	// Weekdays.
	"Mon", "Monday", "mon,wed,fri", "Mon..Fri", "Mon-Fri", "Sat,Sun", "Mon..Sun", "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
	"Mon,Tue", "Mon..Wed,Fri..Sun", "Thu..Sat *-*-* 12:00", "Mon, 10:00", "Mon,", "monday..FRIDAY 08:00",
	"Fri..Mon", "Mon..Wed..Fri", "Mon..", "Mon.Fri", "Mo", "Mond", "Monday-", "Sonntag", "Mon,,Tue",
	"Wed 12:00", "Sun *-*-1..7 04:00",

	// Dates.
	"2023-12-24", "*-12-24", "12-24", "*-*-01", "*-01,04,07,10-01", "2024-02-29 12:00", "*-02-29",
	"*-02-30", "*-02-31", "2023-02-29", "*-13-01", "*-00-01", "*-*-32", "*-*-00", "24-06-01", "69-01-01",
	"70-01-01", "99-12-31", "1969-12-31", "2199-12-31 23:59:59", "2200-01-01", "2023..2025-06-01",
	"2024/2-01-01", "*-1/3-01", "*-2/3-1", "*-*-1/10", "*-*-1..31/10", "*-*-5..3", "*-*-10..10",
	"2023-1..3/5-01", "*-*-*", "*-*", "*", "**", "*-*-* *:*:*", "1-2-3-4",

	// End of month.
	"*-*~01", "*-*~1", "*-02~01", "*-*~03..01", "*-*~7/2", "*-*~1/2", "*-*~28", "*-*~29", "*-*~*",
	"2024-02~1..3", "2024~02-01", "*~*~*", "*-*~05,1 12:00",

	// Times.
	"10:00", "10:00:30", "*:00", "*:*", "*:0/15", "*:*:0/15.5", "00:00:00.5", "*:*:59.9999995",
	"*:*:1.5..5.5", "*:*:1.5..1.7", "*:*:1.5..1.7/0.1", "*:*:0/0.25", "*:*:30/30", "*:*:30/29",
	"*:*:0/1,5", "24:00", "23:60", "*:*:60", "10", "10:", ":00", "10:00:", "10:00 ", "10-00",
	"1.5:00", "08..17/3:00", "0,12:30", "*:1,2,3,4,5", "*:*:0.", "*:*:5.x", "*:*:1..2.5",

	// Lists, ranges and repetitions at the limits.
	"*-*-* *:*:" + strings.Repeat("1,", 240) + "1",
	"*-*-* *:*:" + strings.Repeat("1,", 241) + "1",
	"*:0/0", "*:0/60", "*:0/59", "*:1/58", "*-*-* 99999999999:00", "*-*-* 00:00:2147", "*-*-* 00:00:2148",

	// Time zones.
	"12:00 UTC", "12:00 utc", "12:00 Europe/Berlin", "Mon 12:00 America/New_York", "*-*-* 00:00 Etc/UTC",
	"12:00 europe/berlin", "12:00 Europe/Nowhere", "12:00 Europe//Berlin", "12:00 /etc/localtime",
	"12:00 Local", "12:00 zone.tab", " UTC", "UTC", "12:00  UTC", "12:00 Europe/Berlin UTC",

	// Seconds since the epoch.
	"@1234567890", "@0", "@ 5", "@+5", "@-0", "@-1", "@", "@x", "@5x", "@7258118399", "@7258118400",
	"@99999999999999999999999", "Mon @1700000000", "@1700000000 Asia/Tokyo",

	// Odd spacing and junk.
	"", " ", "daily ", " daily", "Mon  12:00", "01-01 ", "2023-01-01  10:00", "bogus", "Mon bogus", "10:00 x",
	"1 2", "*:*:*:*", "~", "-", "10:00\t",
}

// TestCalendarGolden checks calendarTests against testdata/calendar.golden.
func TestCalendarGolden(t *testing.T) {
	var b strings.Builder
	for _, in := range calendarTests {
		fmt.Fprintf(&b, "in:   %q\n", in)
		c, err := parseCalendar(in, time.UTC)
		if err != nil {
			fmt.Fprintf(&b, "err:  %v\n\n", err)
			continue
		}
		fmt.Fprintf(&b, "norm: %s\n", c)
		after := calendarBase
		for range 5 {
			next, ok := c.Next(after)
			if !ok {
				b.WriteString("next: never\n")
				break
			}
			fmt.Fprintf(&b, "next: %s\n", next.Format("Mon 2006-01-02 15:04:05.000000 MST"))
			after = next
		}
		b.WriteString("\n")
	}
	got := b.String()

	path := filepath.Join("testdata", "calendar.golden")
	if *updateCalendar {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-calendar to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s:%d differs (run with -update-calendar to accept):\ngot:  %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

// TestCalendarTableUnique guards the golden table against duplicates.
func TestCalendarTableUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range calendarTests {
		if seen[in] {
			t.Errorf("duplicate calendar test input %q", in)
		}
		seen[in] = true
	}
}

func TestParseCalendarErrors(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		isRange bool
	}{
		{"", `props: parsing "": invalid syntax: empty calendar specification; want e.g. "daily" or "Mon..Fri *-*-* 10:00"`, false},
		{"bogus", `props: parsing "bogus": invalid syntax: unknown word "bogus"; want a weekday (Mon..Sun), a date, a time, "@seconds" or one of minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly`, false},
		{"Mond", `props: parsing "Mond": invalid syntax: weekday "Mon" followed by "d"; want "..", ",", a space or the end`, false},
		{"Fri..Mon", `props: parsing "Fri..Mon": invalid syntax: weekday range Fri..Mon runs backwards; want Mon..Sun order`, false},
		{"Mon.. 10:00", `props: parsing "Mon.. 10:00": invalid syntax: open weekday range Mon..; want an end weekday`, false},
		{"24:00", `props: parsing "24:00": out of range: hour 24 not in 0..23`, true},
		{"*-*-* *:*:30/40", `props: parsing "*-*-* *:*:30/40": out of range: second 30/40 never repeats within 0..59.999999`, true},
		{"*-*~29", `props: parsing "*-*~29": out of range: day 29 not in ~1..28`, true},
		{"*:0/0", `props: parsing "*:0/0": out of range: minute: repetition /0; want a positive repetition`, true},
		{"*:*:1.5..1.7", `props: parsing "*:*:1.5..1.7": invalid syntax: second: seconds range 1.5..1.7 is shorter than 1s; add a repetition like /0.5`, false},
		{"10:00 ", `props: parsing "10:00 ": invalid syntax: unexpected " " after the minute; want ":" and seconds or the end`, false},
		{"1.5:00", `props: parsing "1.5:00": invalid syntax: date: unexpected ".5:00" after "1"; want "..", "/", ",", or a separator`, false},
		{"2024~02-01", `props: parsing "2024~02-01": invalid syntax: date: "~" must separate the month and the day, not the year and the month`, false},
		{"@x", `props: parsing "@x": invalid syntax: after "@": want a number, found "x"`, false},
		{"@7258118400", `props: parsing "@7258118400": out of range: @7258118400 is outside the years 1970..2199`, true},
		{"daily\x00", `props: parsing "daily\x00": invalid syntax: NUL byte in calendar specification`, false},
		{"*-*-* *:*:" + strings.Repeat("1,", 241) + "1", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			c, err := parseCalendar(tc.in, time.UTC)
			if err == nil {
				t.Fatalf("parsed as %q, want an error", c)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.Input != tc.in {
				t.Fatalf("error %#v is not a *props.Error with Input %q", err, tc.in)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %q does not wrap ErrSyntax", err)
			}
			if got := errors.Is(err, ErrRange); got != tc.isRange {
				t.Errorf("errors.Is(%q, ErrRange) = %v, want %v", err, got, tc.isRange)
			}
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("error:\ngot  %s\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

// TestCalendarLocal covers what depends on the local time zone: its
// abbreviations as a suffix, and daylight-saving changes.
func TestCalendarLocal(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		in    string
		norm  string
		after time.Time
		want  []string // UTC
	}{
		// 02:30 does not exist on 2024-03-31: that day is skipped.
		{"*-*-* 02:30", "*-*-* 02:30:00", time.Date(2024, 3, 30, 12, 0, 0, 0, time.UTC),
			[]string{"2024-04-01 00:30:00", "2024-04-02 00:30:00"}},
		// 02:30 happens twice on 2023-10-29: only the first counts.
		{"*-*-* *:30", "*-*-* *:30:00", time.Date(2023, 10, 28, 23, 0, 0, 0, time.UTC),
			[]string{"2023-10-28 23:30:00", "2023-10-29 00:30:00", "2023-10-29 02:30:00", "2023-10-29 03:30:00"}},
		{"*-*-* 00:00 CET", "*-*-* 00:00:00 CET", time.Date(2023, 10, 29, 0, 0, 0, 0, time.UTC),
			[]string{"2023-10-29 23:00:00", "2023-10-30 23:00:00"}},
		{"*-*-* 12:00 cest", "*-*-* 12:00:00 CEST", time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC),
			[]string{"2023-07-01 10:00:00", "2023-07-02 10:00:00"}},
		{"*-*-* 12:00 Asia/Tokyo", "*-*-* 12:00:00 Asia/Tokyo", time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC),
			[]string{"2023-07-01 03:00:00", "2023-07-02 03:00:00"}},
		{"*-*-* 12:00 UTC", "*-*-* 12:00:00 UTC", time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC),
			[]string{"2023-07-01 12:00:00", "2023-07-02 12:00:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			c, err := parseCalendar(tc.in, berlin)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.String(); got != tc.norm {
				t.Errorf("String() = %q, want %q", got, tc.norm)
			}
			var got []string
			after := tc.after
			for range tc.want {
				next, ok := c.Next(after)
				if !ok {
					break
				}
				got = append(got, next.UTC().Format(time.DateTime))
				after = next
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("elapses after %s:\ngot  %q\nwant %q", tc.after, got, tc.want)
			}
		})
	}
}

func TestCalendarNext(t *testing.T) {
	c, err := parseCalendar("*:*:0/0.5", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	tokyo := time.FixedZone("JST", 9*3600)
	after := time.Date(2024, 1, 1, 0, 0, 0, 500000500, tokyo) // 0.5s and 500ns
	next, ok := c.Next(after)
	if want := time.Date(2024, 1, 1, 0, 0, 1, 0, tokyo); !ok || !next.Equal(want) || next.Location() != tokyo {
		t.Errorf("Next(%v) = %v, %v; want %v in after's location", after, next, ok, want)
	}
	if next, ok := c.Next(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Errorf("Next after the year 9999 = %v, want none", next)
	}
	if next, ok := c.Next(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)); !ok || !next.Equal(time.Unix(0, 0)) {
		t.Errorf("Next(1900) = %v, %v; want 1970-01-01 00:00:00 UTC", next, ok)
	}
	old, err := parseCalendar("2023-01-01", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if next, ok := old.Next(calendarBase); ok {
		t.Errorf("Next of a past date = %v, want none", next)
	}
}

func TestValidateCalendar(t *testing.T) {
	tests := []struct {
		in      string
		wantErr error
	}{
		{"daily", nil},
		{"2023-01-01", ErrNeverElapses},
		{"@1234567890", ErrNeverElapses},
		{"2199-12-31 23:59:59 UTC", nil},
		{"*-02-30", ErrNeverElapses},
		{"bogus", ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			c, err := ValidateCalendar(tc.in, calendarBase)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("ValidateCalendar(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			var perr *Error
			if err != nil && (!errors.As(err, &perr) || perr.Input != tc.in) {
				t.Errorf("error %#v is not a *props.Error with Input %q", err, tc.in)
			}
			if err == nil && c == nil {
				t.Error("no Calendar")
			}
		})
	}
}

// FuzzCalendar checks that parsing never panics, that errors are always
// *Error, that String parses back to itself, and that Next moves forward.
func FuzzCalendar(f *testing.F) {
	for _, in := range calendarTests {
		f.Add(in)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Skip(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, local := range []*time.Location{time.UTC, berlin} {
			c, err := parseCalendar(in, local)
			if err != nil {
				var perr *Error
				if !errors.As(err, &perr) || perr.Input != in || !errors.Is(err, ErrSyntax) {
					t.Fatalf("parse error %#v is not a *props.Error wrapping ErrSyntax", err)
				}
				continue
			}
			s := c.String()
			c2, err := parseCalendar(s, local)
			if err != nil {
				t.Fatalf("%q normalizes to %q, which does not parse: %v", in, s, err)
			}
			if s2 := c2.String(); s2 != s {
				t.Fatalf("%q normalizes to %q, which normalizes to %q", in, s, s2)
			}
			if next, ok := c.Next(calendarBase); ok && !next.After(calendarBase) {
				t.Fatalf("%q: Next(%v) = %v, not after", in, calendarBase, next)
			}
		}
	})
}

func BenchmarkParseCalendar(b *testing.B) {
	specs := []string{"daily", "Mon..Fri *-*-* 10:00", "*-*~01 12:00 UTC", "*:*:0/15.5", "2024-01,04,07,10-01 08..17/3:00 Europe/Berlin"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ParseCalendar(specs[i%len(specs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCalendarNext reports next-elapse computations per second.
func BenchmarkCalendarNext(b *testing.B) {
	for _, spec := range []string{"*:*:0/15.5 UTC", "Mon..Fri *-*-* 10:00 UTC", "*-02-29 00:00 UTC", "*-*~01 12:00 Europe/Berlin"} {
		b.Run(spec, func(b *testing.B) {
			c, err := ParseCalendar(spec)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			after := calendarBase
			for b.Loop() {
				next, ok := c.Next(after)
				if !ok {
					b.Fatal("never")
				}
				after = next
				if after.Year() > 2150 {
					after = calendarBase
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "elapses/s")
		})
	}
}

func ExampleParseCalendar() {
	c, err := ParseCalendar("mon-fri 10:00 UTC")
	if err != nil {
		panic(err)
	}
	fmt.Println(c)
	next, _ := c.Next(time.Date(2024, 1, 5, 12, 0, 0, 0, time.UTC))
	fmt.Println(next)

	_, err = ParseCalendar("Mon..Fri 25:00")
	fmt.Println(err)
	// Output:
	// Mon..Fri *-*-* 10:00:00 UTC
	// 2024-01-08 10:00:00 +0000 UTC
	// props: parsing "Mon..Fri 25:00": out of range: hour 25 not in 0..23
}
