package props

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// quoteSamples are words that systemd's unquoting treats specially.
var quoteSamples = []string{
	"", " ", "plain", "a b", `"`, `\`, `'`, `\"`, `a"b'c`, "\n", "\t", "\r", "\x01", "\x7f", "\x1b[0m",
	"$HOME", "${X}", "%h", "%%", ";", "-", "@", "+", "!", "!!", ":", "-/bin/x", "@x", "\xff\xfe", "é", "日本",
	`\x41`, `\n`, "a\\", "trailing space ",
}

func TestQuoteRoundTrip(t *testing.T) {
	words := slices.Clone(quoteSamples)
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(1 + r.IntN(255)) // no NUL
		}
		words = append(words, string(b))
	}
	for _, w := range words {
		got, err := splitWords(Quote(w), whitespace, exUnquote|exCUnescape)
		if err != nil || len(got) != 1 || got[0] != w {
			t.Fatalf("splitWords(Quote(%q) = %s) = %q, %v; want the word back", w, Quote(w), got, err)
		}
	}
	got, err := splitWords(QuoteArgv(words), whitespace, exUnquote|exCUnescape)
	if err != nil || !slices.Equal(got, words) {
		t.Fatalf("splitWords(QuoteArgv(words)) differs: %v", err)
	}
}

// TestQuoteParse checks the printer against the parsers it serves:
// ExecStart= keeps argv (a first word that looks like a prefix is not
// one), Environment= keeps each entry whole.
func TestQuoteParse(t *testing.T) {
	for _, argv := range [][]string{
		{"/bin/true"}, {"/bin/sh", "-c", `echo "$x" 'y' \z`}, {"-/bin/x", "a b"}, {"@x", "y"}, {"+x"}, {"!!x"}, {":x"},
		{"/bin/echo", "", " ", "\t\n"},
	} {
		ps, err := Parse(Service, "ExecStart="+QuoteArgv(argv))
		want := []Property{prop("ExecStart", []execCommand{{argv[0], argv, false}})}
		if err != nil || !reflect.DeepEqual(ps, want) {
			t.Errorf("Parse(ExecStart=%s) = %v, %v; want %v", QuoteArgv(argv), ps, err, want)
		}
	}
	env := []string{"A=1", "B=a b", `C="q" \`, "D=", "E=x\ny"}
	ps, err := Parse(Service, "Environment="+QuoteArgv(env))
	if want := []Property{prop("Environment", env)}; err != nil || !reflect.DeepEqual(ps, want) {
		t.Errorf("Parse(Environment=%s) = %v, %v; want %v", QuoteArgv(env), ps, err, want)
	}
}

func TestParsePathArgument(t *testing.T) {
	for _, tt := range []struct{ path, cwd, want string }{
		{"", "/x", ""},
		{"/", "/x", ""},
		{"/./", "/x", ""},
		{"/tmp", "/x", "/tmp"},
		{"/var//./tmp/", "/x", "/var/tmp"},
		{"/a/../b", "/x", "/a/../b"},
		{"tmp", "/home/u", "/home/u/tmp"},
		{"./a//b/.", "/", "/a/b"},
		{".", "/", ""},
		{"..", "/srv", "/srv/.."},
	} {
		if got := ParsePathArgument(tt.path, tt.cwd); got != tt.want {
			t.Errorf("ParsePathArgument(%q, %q) = %q, want %q", tt.path, tt.cwd, got, tt.want)
		}
	}
}

func TestParseSetenv(t *testing.T) {
	lookup := func(name string) (string, bool) {
		if name == "SET" {
			return "from here", true
		}
		return "", false
	}
	for _, tt := range []struct{ arg, want, err string }{
		{"A=1", "A=1", ""},
		{"A=", "A=", ""},
		{"A=b=c d", "A=b=c d", ""},
		{"_x9=1", "_x9=1", ""},
		{"SET", "SET=from here", ""},
		{"UNSET", "UNSET=", ""},
		{"1X=y", "", `props: parsing "1X=y": invalid variable name`},
		{"=x", "", `props: parsing "=x": invalid variable name`},
		{"", "", `props: parsing "": invalid variable name`},
		{"A B=x", "", `"A B=x"`},
		{"A.b", "", `"A.b"`},
		{"\tX=1", "", `"\tX=1"`},
	} {
		got, err := ParseSetenv(tt.arg, lookup)
		if tt.err != "" {
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSetenv(%q) error %v, want an *Error containing %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSetenv(%q) = %q, %v; want %q", tt.arg, got, err, tt.want)
		}
	}
}

func TestSplitArgvInvertsQuoteArgv(t *testing.T) {
	for _, argv := range [][]string{
		{"/usr/bin/curl", "-fsS", "https://hc.example/ping/u/fail"},
		{"/bin/sh", "-c", "echo 'a b' \"c\"\\\\d"},
		{"/usr/bin/mail", "-s", "backup failed: x", "root@example.org"},
	} {
		got, err := SplitArgv(QuoteArgv(argv))
		if err != nil || !slices.Equal(got, argv) {
			t.Errorf("SplitArgv(QuoteArgv(%q)) = %q, %v", argv, got, err)
		}
	}
	got, err := SplitArgv(`/usr/bin/curl -fsS "https://x/y z" 'a\tb'`)
	if want := []string{"/usr/bin/curl", "-fsS", "https://x/y z", "a\tb"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("SplitArgv: %q, %v; want %q", got, err, want)
	}
	if _, err := SplitArgv(`/bin/echo "unterminated`); err == nil {
		t.Error("SplitArgv of an unterminated quote: no error")
	}
}

func TestShellMaybeQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                  `""`,
		"/bin/true":         "/bin/true",
		"exit 1":            `"exit 1"`,
		"echo $$x":          `"echo \$\$x"`,
		`"a" 'b' \c`:        `"\"a\" 'b' \\c"`,
		"a\tb":              `"a\tb"`,
		"x\x01y":            `"x\001y"`,
		"ab\xffc":           `"ab\377c"`,
		"héllo":             "héllo",
		"@y":                "@y",
		";":                 `";"`,
		"a*":                `"a*"`,
		"run\\x20x.service": `"run\\x20x.service"`,
		"`cmd`":             "\"\\`cmd\\`\"",
	} {
		if got := ShellMaybeQuote(in); got != want {
			t.Errorf("ShellMaybeQuote(%q) = %s, want %s", in, got, want)
		}
	}
	if got, want := QuoteCommandLine([]string{"/bin/sh", "-c", "exit 1", ""}), `/bin/sh -c "exit 1" ""`; got != want {
		t.Errorf("QuoteCommandLine = %s, want %s", got, want)
	}
}
