package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// BorgmaticConfig is what one borgmatic configuration file says about
// where a backup writes and whether it needs the network. It reads both
// the sectioned layout of borgmatic 1.7 (location:, storage:, hooks:) and
// the flat layout of 1.8 and later.
type BorgmaticConfig struct {
	// File is the configuration file's path.
	File string
	// Repositories are the repositories' paths or URLs, with ~ expanded.
	Repositories []string
	// Options holds the options that name directories or programs
	// (borg_*_directory, temporary_directory, borgmatic_source_directory,
	// user_runtime_directory, user_state_directory, working_directory,
	// ssh_command), with ~ and ${VAR} expanded; absent options are absent.
	Options map[string]string
	// NetworkHooks names the hooks present that may need the network:
	// databases, monitoring, and arbitrary commands.
	NetworkHooks []string
}

// borgmaticOptions are the options [BorgmaticConfig.Options] keeps.
var borgmaticOptions = []string{
	"borg_base_directory", "borg_config_directory", "borg_cache_directory",
	"borg_security_directory", "borg_keys_directory", "temporary_directory",
	"borgmatic_source_directory", "user_runtime_directory", "user_state_directory",
	"working_directory", "ssh_command",
}

// monitoringHooks are borgmatic hooks that talk to a service over the
// network.
var monitoringHooks = []string{
	"healthchecks", "cronitor", "cronhub", "pagerduty", "ntfy", "apprise",
	"uptime_kuma", "zabbix", "loki", "pushover", "sentry",
}

// borgmaticActions are borgmatic 1.7's actions and their aliases: a -c
// list ends at the first of them.
var borgmaticActions = []string{
	"rcreate", "init", "transfer", "prune", "compact", "create", "check",
	"extract", "export-tar", "mount", "umount", "restore", "rlist", "list",
	"rinfo", "info", "break-lock", "borg", "config", "key", "delete", "rdelete",
	"repo-create", "repo-list", "repo-info", "repo-delete", "spot", "recreate",
}

// BorgmaticConfigFiles returns the configuration files a borgmatic command
// line reads: those named with -c/--config (files, or directories whose
// *.yaml and *.yml files are read), else borgmatic's defaults under /etc
// and home. A named path that does not exist is an error; a default one
// is skipped, as borgmatic does.
func BorgmaticConfigFiles(argv []string, home string) ([]string, error) {
	return borgmaticConfigFiles(localFiles{}, argv, home)
}

// files is where configuration is read from: the local file system, or a
// copy of a remote host's files ([DeriveRemoteSandbox]). Names are
// absolute.
type files interface {
	Stat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Open(name string) (fs.File, error)
}

// localFiles is the local file system.
type localFiles struct{}

func (localFiles) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (localFiles) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (localFiles) Open(name string) (fs.File, error)          { return os.Open(name) }

// rootedFiles reads absolute names below the root of an fs.FS.
type rootedFiles struct{ fsys fs.FS }

func (r rootedFiles) rel(name string) (string, error) {
	if !filepath.IsAbs(name) {
		return "", &fs.PathError{Op: "open", Path: name, Err: errors.New("not an absolute path (a remote host's paths must be absolute)")}
	}
	if rel := strings.TrimPrefix(filepath.Clean(name), "/"); rel != "" {
		return rel, nil
	}
	return ".", nil
}

func (r rootedFiles) Stat(name string) (fs.FileInfo, error) {
	rel, err := r.rel(name)
	if err != nil {
		return nil, err
	}
	fi, err := fs.Stat(r.fsys, rel)
	return fi, absPathError(err, name)
}

func (r rootedFiles) ReadDir(name string) ([]fs.DirEntry, error) {
	rel, err := r.rel(name)
	if err != nil {
		return nil, err
	}
	d, err := fs.ReadDir(r.fsys, rel)
	return d, absPathError(err, name)
}

func (r rootedFiles) Open(name string) (fs.File, error) {
	rel, err := r.rel(name)
	if err != nil {
		return nil, err
	}
	f, err := r.fsys.Open(rel)
	return f, absPathError(err, name)
}

// absPathError puts the absolute name back into an *fs.PathError.
func absPathError(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return err
}

// borgmaticConfigPaths returns the paths a borgmatic command line names
// with -c/--config, with ~ expanded, or borgmatic's default paths; given
// says which.
func borgmaticConfigPaths(argv []string, home string) (paths []string, given bool) {
	var named []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			named, given = append(named, v), true
			continue
		}
		if a != "-c" && a != "--config" {
			continue
		}
		given = true
		for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") && !slices.Contains(borgmaticActions, argv[i+1]) {
			i++
			named = append(named, argv[i])
		}
	}
	paths = named
	if !given {
		paths = []string{"/etc/borgmatic/config.yaml", "/etc/borgmatic.d",
			filepath.Join(home, ".config/borgmatic/config.yaml"), filepath.Join(home, ".config/borgmatic.d")}
	}
	for i, p := range paths {
		paths[i] = expandHome(p, home)
	}
	return paths, given
}

func borgmaticConfigFiles(fsys files, argv []string, home string) ([]string, error) {
	paths, given := borgmaticConfigPaths(argv, home)
	var files []string
	for _, p := range paths {
		fi, err := fsys.Stat(p)
		switch {
		case err != nil && !given && errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("borgmatic configuration %q: %w", p, err)
		case !fi.IsDir() && !fi.Mode().IsRegular():
			return nil, fmt.Errorf("borgmatic configuration %q: not a regular file", p)
		case !fi.IsDir():
			files = append(files, p)
			continue
		}
		entries, err := fsys.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("borgmatic configuration directory %q: %w", p, err)
		}
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				files = append(files, filepath.Join(p, n))
			}
		}
	}
	return files, nil
}

// ReadBorgmaticConfig reads one borgmatic configuration file, following
// its !include tags as borgmatic does (relative names are looked up in the
// including file's directory). env resolves ${VAR} and ${VAR:-default} in
// values, as borgmatic does with its own environment; home expands ~.
func ReadBorgmaticConfig(file string, env func(string) (string, bool), home string) (*BorgmaticConfig, error) {
	return readBorgmaticConfig(localFiles{}, file, env, home)
}

func readBorgmaticConfig(fsys files, file string, env func(string) (string, bool), home string) (*BorgmaticConfig, error) {
	root, err := loadYAML(fsys, file, 0)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := root.Decode(&doc); err != nil {
		return nil, fmt.Errorf("borgmatic configuration %q: %w", file, err)
	}
	c := &BorgmaticConfig{File: file, Options: map[string]string{}}
	// Options live at the top level (1.8+) or in one of 1.7's sections.
	lookup := func(name string) (any, bool) {
		if v, ok := doc[name]; ok {
			return v, true
		}
		for _, section := range []string{"location", "storage", "hooks", "consistency"} {
			if m, ok := doc[section].(map[string]any); ok {
				if v, ok := m[name]; ok {
					return v, true
				}
			}
		}
		return nil, false
	}
	expand := func(s string) string { return expandHome(expandEnv(s, env), home) }
	if v, ok := lookup("repositories"); ok {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("borgmatic configuration %q: repositories: want a list, got %T", file, v)
		}
		for _, r := range list {
			switch r := r.(type) {
			case string:
				c.Repositories = append(c.Repositories, expand(r))
			case map[string]any:
				p, ok := r["path"].(string)
				if !ok {
					return nil, fmt.Errorf("borgmatic configuration %q: repositories: entry %v has no path", file, r)
				}
				c.Repositories = append(c.Repositories, expand(p))
			default:
				return nil, fmt.Errorf("borgmatic configuration %q: repositories: entry %v: want a path", file, r)
			}
		}
	}
	for _, name := range borgmaticOptions {
		if v, ok := lookup(name); ok && v != nil {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("borgmatic configuration %q: %s: want a string, got %v", file, name, v)
			}
			c.Options[name] = expand(s)
		}
	}
	hooks := map[string]any{}
	for k, v := range doc {
		hooks[k] = v
	}
	if m, ok := doc["hooks"].(map[string]any); ok {
		for k, v := range m {
			hooks[k] = v
		}
	}
	for k, v := range hooks {
		if v == nil {
			continue
		}
		command := strings.HasPrefix(k, "before_") || strings.HasPrefix(k, "after_") || k == "on_error" || k == "commands"
		database := strings.HasSuffix(k, "_databases") && k != "sqlite_databases"
		if command || database || slices.Contains(monitoringHooks, k) {
			c.NetworkHooks = append(c.NetworkHooks, k)
		}
	}
	slices.Sort(c.NetworkHooks)
	return c, nil
}

// maxConfigSize bounds what is read of one configuration file.
const maxConfigSize = 4 << 20

// readConfigFile reads a configuration file, refusing what is not a regular
// file (a FIFO would block for ever, /dev/zero never end) and files larger
// than maxConfigSize.
func readConfigFile(fsys files, file string) ([]byte, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, fmt.Errorf("borgmatic configuration: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("borgmatic configuration %q: %w", file, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("borgmatic configuration %q: not a regular file", file)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("borgmatic configuration %q: %w", file, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("borgmatic configuration %q: larger than %d bytes", file, maxConfigSize)
	}
	return data, nil
}

// loadYAML parses file and replaces each !include node with the parsed
// document it names.
func loadYAML(fsys files, file string, depth int) (*yaml.Node, error) {
	if depth > 16 {
		return nil, fmt.Errorf("borgmatic configuration %q: !include nested too deeply", file)
	}
	data, err := readConfigFile(fsys, file)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("borgmatic configuration %q: %w", file, err)
	}
	if root.Kind == 0 {
		return nil, fmt.Errorf("borgmatic configuration %q: empty", file)
	}
	if err := resolveIncludes(fsys, &root, filepath.Dir(file), depth); err != nil {
		return nil, fmt.Errorf("borgmatic configuration %q: %w", file, err)
	}
	return &root, nil
}

func resolveIncludes(fsys files, n *yaml.Node, dir string, depth int) error {
	if n.Tag == "!include" && n.Kind == yaml.ScalarNode {
		name := n.Value
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		inc, err := loadYAML(fsys, name, depth+1)
		if err != nil {
			return err
		}
		*n = *inc
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			*n = *n.Content[0]
		}
		return nil
	}
	for _, c := range n.Content {
		if err := resolveIncludes(fsys, c, dir, depth); err != nil {
			return err
		}
	}
	return nil
}

// expandEnv resolves ${VAR} and ${VAR:-default} as borgmatic 1.7 does;
// anything else, including a bare $VAR, is kept.
func expandEnv(s string, env func(string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		name, def, hasDef := strings.Cut(s[i+2:i+j], ":-")
		if v, ok := env(name); ok {
			b.WriteString(v)
		} else if hasDef {
			b.WriteString(def)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// expandHome expands a leading ~ or ~/ to home (not ~user).
func expandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(home, rest)
	}
	return p
}

// RemoteRepository reports whether a borg repository location is on
// another machine: an ssh:// (or other non-file) URL, or scp-style
// [user@]host:path.
func RemoteRepository(repo string) bool {
	if scheme, _, ok := strings.Cut(repo, "://"); ok && !strings.ContainsAny(scheme, "/") {
		return scheme != "file"
	}
	// borg 2 names these without //.
	for _, p := range []string{"rclone:", "s3:", "b2:"} {
		if strings.HasPrefix(repo, p) {
			return true
		}
	}
	host, _, ok := strings.Cut(repo, ":")
	return ok && host != "" && !strings.Contains(host, "/")
}

// localRepositoryPath returns the directory of a local repository, made
// absolute against dir; a path with a borg placeholder ({hostname}, …) is
// cut at the placeholder's component, whose parent is then the directory.
func localRepositoryPath(repo, dir string) string {
	p, _ := strings.CutPrefix(repo, "file://")
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	p = filepath.Clean(p)
	if i := strings.IndexByte(p, '{'); i >= 0 {
		p = filepath.Dir(p[:i+1])
	}
	return p
}
