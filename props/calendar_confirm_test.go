package props

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCalendarConfirm checks ParseCalendar, String and Next against the
// reference, systemd 252's "systemd-analyze calendar", on thousands of
// generated specifications, valid and invalid: both must accept or
// reject alike, print the same normalized form, and give the same next 5
// elapses (to the second, which is all systemd-analyze prints).
//
// It is skipped when systemd-analyze 252 is not installed, unless
// BORGRUN_REQUIRE_SYSTEMD is set.
func TestCalendarConfirm(t *testing.T) {
	analyze := requireSystemdAnalyze(t)
	t.Parallel()

	runs := []struct {
		tz    string
		bases []time.Time
		specs []string
	}{
		{
			tz: "UTC",
			bases: []time.Time{
				time.Date(2023, 11, 14, 22, 13, 20, 250000000, time.UTC),
				time.Date(2024, 2, 28, 23, 59, 59, 0, time.UTC),
			},
			specs: append(calendarTableInputs(), genCalendarSpecs(1, 2400, "")...),
		},
		{
			tz: "Europe/Berlin",
			bases: []time.Time{
				time.Date(2024, 3, 30, 23, 0, 0, 0, time.UTC),
				time.Date(2023, 10, 28, 22, 30, 0, 500000000, time.UTC),
			},
			specs: append(calendarTableInputs(), genCalendarSpecs(2, 800, "Europe/Berlin")...),
		},
		{
			tz: "Europe/Dublin", // negative DST: winter time is the "daylight" one
			bases: []time.Time{
				time.Date(2025, 3, 29, 22, 0, 0, 0, time.UTC),
				time.Date(2024, 10, 26, 23, 30, 0, 0, time.UTC),
			},
			specs: genCalendarSpecs(4, 300, "Europe/Dublin"),
		},
		{
			tz:    "Australia/Lord_Howe", // half-hour DST, southern hemisphere
			bases: []time.Time{time.Date(2024, 4, 6, 14, 0, 0, 0, time.UTC)},
			specs: genCalendarSpecs(3, 200, "Australia/Lord_Howe"),
		},
	}

	for _, run := range runs {
		loc, err := time.LoadLocation(run.tz)
		if err != nil {
			t.Fatal(err)
		}
		for bi, base := range run.bases {
			t.Run(fmt.Sprintf("%s/%d", strings.ReplaceAll(run.tz, "/", "_"), bi), func(t *testing.T) {
				t.Parallel()
				confirmCalendars(t, hostAnalyze(analyze), run.tz, loc, base, run.specs)
			})
		}
	}
}

// requireSystemdAnalyze returns the path of systemd-analyze 252, or skips
// the test (fails it if BORGRUN_REQUIRE_SYSTEMD is set).
func requireSystemdAnalyze(t *testing.T) string {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("BORGRUN_REQUIRE_SYSTEMD") != "" {
		skip = t.Fatalf
	}
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		skip("systemd-analyze not found: %v", err)
		return ""
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		skip("systemd-analyze --version: %v", err)
		return ""
	}
	if !strings.HasPrefix(string(out), "systemd 252 ") {
		first, _, _ := strings.Cut(string(out), "\n")
		skip("want systemd 252, have %q", first)
	}
	return path
}

// analyzeCommand returns a command that runs systemd-analyze with args.
type analyzeCommand func(args ...string) *exec.Cmd

// hostAnalyze runs the host's systemd-analyze at path.
func hostAnalyze(path string) analyzeCommand {
	return func(args ...string) *exec.Cmd {
		cmd := exec.Command(path, args...)
		cmd.Env = os.Environ()
		return cmd
	}
}

// confirmCalendars runs specs through systemd-analyze in batches and
// compares each result with ours.
func confirmCalendars(t *testing.T, analyze analyzeCommand, tz string, loc *time.Location, base time.Time, specs []string) {
	t.Helper()
	const batch = 250
	var mu sync.Mutex
	matched, mismatched := 0, 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for lo := 0; lo < len(specs); lo += batch {
		chunk := specs[lo:min(lo+batch, len(specs))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got, err := runSystemdAnalyze(analyze, tz, base, chunk)
			if err != nil {
				t.Error(err)
				return
			}
			for i, spec := range chunk {
				want := ourCalendarResult(spec, loc, base)
				mu.Lock()
				if got[i] != want {
					mismatched++
					if mismatched <= 20 {
						t.Errorf("TZ=%s base=%s spec %q:\nsystemd: %s\nours:    %s", tz, base.Format(time.RFC3339Nano), spec, got[i], want)
					}
				} else {
					matched++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("TZ=%s base=%s: %d specs matched systemd-analyze, %d did not", tz, base.Format(time.RFC3339Nano), matched, mismatched)
}

const confirmMarkerBase = 1000000000

// runSystemdAnalyze runs "systemd-analyze calendar --iterations=5" on
// specs and returns one summary per spec in the form ourCalendarResult
// gives. A marker spec "@N" after each spec separates their outputs.
func runSystemdAnalyze(analyze analyzeCommand, tz string, base time.Time, specs []string) ([]string, error) {
	args := []string{"calendar", "--iterations=5",
		fmt.Sprintf("--base-time=@%d.%06d", base.Unix(), base.Nanosecond()/1000)}
	args = append(args, "--")
	for i, s := range specs {
		args = append(args, s, "@"+strconv.Itoa(confirmMarkerBase+i))
	}
	cmd := analyze(args...)
	cmd.Env = append(cmd.Env, "TZ="+tz, "COLUMNS=100000", "SYSTEMD_COLORS=0", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, err
	}

	var failures []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, "Failed to parse calendar specification") {
			failures = append(failures, "reject")
		} else if strings.HasPrefix(line, "Failed to determine next elapse") {
			failures = append(failures, "failed")
		}
	}

	out := make([]string, len(specs))
	i := 0
	var block []string // the current spec's output block, if any
	flush := func() error {
		if i >= len(specs) {
			return fmt.Errorf("systemd-analyze printed more blocks than specs")
		}
		if block == nil {
			if len(failures) == 0 {
				return fmt.Errorf("no output and no error for %q; stderr:\n%s", specs[i], stderr.String())
			}
			out[i] = failures[0]
			failures = failures[1:]
		} else {
			out[i] = summarizeAnalyze(block, tz)
		}
		block = nil
		i++
		return nil
	}
	for _, raw := range strings.Split(stdout.String(), "\n\n") {
		raw = strings.Trim(raw, "\n")
		if raw == "" {
			continue
		}
		lines := strings.Split(raw, "\n")
		if i < len(specs) && strings.TrimSpace(lines[0]) == "Original form: @"+strconv.Itoa(confirmMarkerBase+i) {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if block != nil {
			return nil, fmt.Errorf("two output blocks for spec %q", specs[i])
		}
		block = lines
	}
	if i != len(specs) {
		return nil, fmt.Errorf("found output for %d of %d specs; stderr:\n%s", i, len(specs), stderr.String())
	}
	return out, nil
}

// summarizeAnalyze turns one systemd-analyze output block into
// "normalized | elapse | elapse ...", with elapses in UTC.
func summarizeAnalyze(block []string, tz string) string {
	var norm string
	var next []string
	for _, line := range block {
		label, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch {
		case label == "Normalized form":
			norm = value
		case label == "Next elapse" && value == "never":
			next = append(next, "never")
		// "Iter. #2" until 253 or so, "Iteration #2" in 254 and newer.
		case tz == "UTC" && (label == "Next elapse" || strings.HasPrefix(label, "Iter. #") || strings.HasPrefix(label, "Iteration #")):
			next = append(next, value)
		case tz != "UTC" && label == "(in UTC)":
			next = append(next, value)
		}
	}
	return norm + " | " + strings.Join(next, " | ")
}

// ourCalendarResult computes what summarizeAnalyze or runSystemdAnalyze
// give for spec, with local as the local time zone.
func ourCalendarResult(spec string, local *time.Location, base time.Time) string {
	c, err := parseCalendar(spec, local)
	if err != nil {
		return "reject"
	}
	next := []string{}
	u := base.UnixMicro()
	for i := range 5 {
		n, err := c.nextUsec(u)
		if errors.Is(err, errCalNever) {
			if i == 0 {
				next = append(next, "never")
			}
			break
		}
		if err != nil {
			return "failed"
		}
		next = append(next, time.UnixMicro(n).UTC().Format("Mon 2006-01-02 15:04:05 UTC"))
		u = n
	}
	return c.String() + " | " + strings.Join(next, " | ")
}

// calendarTableInputs returns the inputs of the golden table.
func calendarTableInputs() []string {
	return slices.Clone(calendarTests)
}

// genCalendarSpecs returns n pseudo-random calendar specifications, a
// fixed function of seed, that exercise every part of the syntax, mostly
// valid but with typical mistakes too. tz is the local zone of the run,
// whose abbreviations it also uses; for zones with daylight-saving time
// it favours times near the changes.
func genCalendarSpecs(seed uint64, n int, tz string) []string {
	g := &calGen{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), tz: tz}
	specs := make([]string, 0, n)
	seen := map[string]bool{}
	for len(specs) < n {
		s := g.spec()
		if seen[s] || strings.ContainsAny(s, "\n\x00") {
			continue
		}
		seen[s] = true
		specs = append(specs, s)
	}
	return specs
}

type calGen struct {
	r  *rand.Rand
	tz string
}

func (g *calGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *calGen) chance(p float64) bool    { return g.r.Float64() < p }

func (g *calGen) spec() string {
	var s string
	switch k := g.r.IntN(100); {
	case k < 8:
		s = g.shortcut()
	case k < 13:
		s = g.epoch()
	default:
		var parts []string
		if g.chance(0.35) {
			parts = append(parts, g.weekdays())
		}
		if g.chance(0.8) {
			parts = append(parts, g.date())
		}
		if g.chance(0.85) {
			parts = append(parts, g.time())
		}
		s = strings.Join(parts, g.pick(" ", " ", " ", " ", "  "))
	}
	if g.chance(0.3) {
		s += " " + g.zone()
	}
	if g.chance(0.12) {
		s = g.mutate(s)
	}
	return s
}

func (g *calGen) shortcut() string {
	s := g.pick("minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually",
		"anually", "quarterly", "semiannually", "semi-annually", "biannually", "bi-annually",
		"secondly", "fortnightly", "day", "")
	switch g.r.IntN(4) {
	case 0:
		s = strings.ToUpper(s)
	case 1:
		if s != "" {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return s
}

func (g *calGen) epoch() string {
	switch g.r.IntN(8) {
	case 0:
		return "@" + g.pick("0", "-0", "+5", " 5", "\t7", "-1", "x", "", "5x", "1.5", "99999999999999999999999")
	case 1:
		return "@" + strconv.FormatInt(7258118400+g.r.Int64N(3)-1, 10) // around 2200-01-01
	default:
		return "@" + strconv.FormatInt(1600000000+g.r.Int64N(300000000), 10)
	}
}

var calGenDays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
var calGenLongDays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

func (g *calGen) day() string {
	i := g.r.IntN(7)
	s := calGenDays[i]
	switch g.r.IntN(10) {
	case 0:
		s = calGenLongDays[i]
	case 1:
		s = strings.ToLower(s)
	case 2:
		s = strings.ToUpper(calGenLongDays[i])
	case 3:
		if g.chance(0.3) {
			s = g.pick("Mo", "Tues", "Thurs", "Sonntag", "Mond")
		}
	}
	return s
}

func (g *calGen) weekdays() string {
	var b strings.Builder
	for i, n := 0, 1+g.r.IntN(3); i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(g.day())
		if g.chance(0.4) {
			b.WriteString(g.pick("..", "..", "-", "."))
			b.WriteString(g.day())
		}
	}
	if g.chance(0.05) {
		b.WriteString(g.pick(",", "..", "-"))
	}
	return b.String()
}

// chain returns a component list for values around lo..hi.
func (g *calGen) chain(lo, hi, width int, star float64) string {
	if g.chance(star) {
		return "*"
	}
	num := func() string {
		v := lo + g.r.IntN(hi-lo+1)
		if g.chance(0.03) {
			v = hi + 1 + g.r.IntN(3)
		}
		if g.chance(0.7) {
			return fmt.Sprintf("%0*d", width, v)
		}
		return strconv.Itoa(v)
	}
	var parts []string
	for i, n := 0, 1+g.r.IntN(3); i < n; i++ {
		p := num()
		switch g.r.IntN(8) {
		case 0:
			p += ".." + num()
		case 1:
			p += "/" + strconv.Itoa(1+g.r.IntN(max(1, (hi-lo)/2+1)))
		case 2:
			p += ".." + num() + "/" + strconv.Itoa(1+g.r.IntN(max(1, (hi-lo)/3+1)))
		}
		parts = append(parts, p)
	}
	if g.chance(0.01) {
		return strings.Repeat(num()+",", 241) + num() // too long a list
	}
	return strings.Join(parts, ",")
}

func (g *calGen) date() string {
	dst := g.tz != "" && g.tz != "UTC" && g.chance(0.5)
	month := g.chain(1, 12, 2, 0.4)
	day := g.chain(1, 31, 2, 0.5)
	if dst {
		// The daylight-saving changes: March/October in the north,
		// April/October (or September) in the south.
		month = g.pick("03", "10", "3,10", "04", "09..10", "*")
		day = g.pick("25..31", "*", "26", "29", "31", "~07/1", "~1", "06..08", "1..7")
	}
	sep := "-"
	if g.chance(0.12) {
		sep = "~"
	}
	switch g.r.IntN(6) {
	case 0:
		return month + sep + day
	case 1:
		return g.pick("*", "24", "2024", "23..25", "2025", "1999", "2199", "2200", "70", "69") + "-" + month + sep + day
	default:
		year := g.pick("*", "*", "2023", "2024", "2024..2026", "2023,2025", "2024/2", "2025..2030/2", "24", "26")
		s := year + "-" + month + "-" + day
		if sep == "~" {
			s = year + "-" + month + "~" + day
		}
		return s
	}
}

func (g *calGen) time() string {
	hour := g.chain(0, 23, 2, 0.3)
	minute := g.chain(0, 59, 2, 0.3)
	if g.tz != "" && g.tz != "UTC" && g.chance(0.5) {
		hour = g.pick("02", "01..03", "*", "2", "00/2", "03", "01")
		minute = g.pick("30", "00", "*", "00/15", "59")
	}
	s := hour + ":" + minute
	if g.chance(0.6) {
		s += ":" + g.seconds()
	}
	return s
}

func (g *calGen) seconds() string {
	switch g.r.IntN(10) {
	case 0:
		return g.pick("*", "0/15.5", "00/0.25", "1.5", "59.9999995", "30.000001", "00..59/7.5",
			"1.5..5.5", "1.5..1.7", "1.5..1.7/0.1", "0.", "5.x", "60", "0/59", "0/60", "30/30", "00..58/1.5")
	default:
		return g.chain(0, 59, 2, 0.25)
	}
}

func (g *calGen) zone() string {
	zones := []string{"UTC", "utc", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata",
		"Australia/Lord_Howe", "Etc/UTC", "Etc/GMT+5", "CET", "EST5EDT", "Europe/Nowhere", "europe/berlin",
		"Europe//Berlin", "Europe/", "/etc", "Local", "posix/Europe/Berlin", "zone.tab", "Pacific/Chatham"}
	if g.tz == "Europe/Berlin" {
		zones = append(zones, "CET", "CEST", "cest", "CET", "CEST")
	}
	if g.tz == "Europe/Dublin" {
		zones = append(zones, "GMT", "IST", "ist")
	}
	if g.tz == "Australia/Lord_Howe" {
		zones = append(zones, "+1030", "+11")
	}
	return g.pick(zones...)
}

// mutate makes a typical typo: drop, double or replace a character.
func (g *calGen) mutate(s string) string {
	if s == "" {
		return g.pick("*", " ", ":", "-", "~")
	}
	i := g.r.IntN(len(s))
	switch g.r.IntN(3) {
	case 0:
		return s[:i] + s[i+1:]
	case 1:
		return s[:i] + s[i:i+1] + s[i:]
	default:
		return s[:i] + g.pick(" ", ":", "-", "~", ".", ",", "/", "*", "0", "9", "x", "..") + s[i+1:]
	}
}
