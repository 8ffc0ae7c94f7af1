package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Context is one server the CLI talks to, with the token it uses and the
// tenant and project commands default to.
type Context struct {
	Name    string `json:"name"`
	Server  string `json:"server"`
	User    string `json:"user,omitempty"`
	Token   string `json:"token,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	Project string `json:"project,omitempty"`
}

// Config is the CLI's configuration file.
type Config struct {
	Current  string    `json:"current"`
	Contexts []Context `json:"contexts"`
}

// ConfigPath returns $BERTH_CONFIG, or config.yaml under $XDG_CONFIG_HOME/berth
// or ~/.config/berth.
func ConfigPath(getenv func(string) string) (string, error) {
	if p := getenv("BERTH_CONFIG"); p != "" {
		return p, nil
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "berth", "config.yaml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither BERTH_CONFIG nor HOME is set")
	}
	return filepath.Join(home, ".config", "berth", "config.yaml"), nil
}

// LoadConfig reads the file at path strictly; a missing file is an empty
// Config.
func LoadConfig(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	c, err = ParseConfig(data)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a config file strictly: unknown fields are errors.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	err := yaml.UnmarshalStrict(data, &c)
	return c, err
}

// Save writes c to path readable by its owner only: it holds tokens.
func (c Config) Save(path string) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// Get returns the context named name.
func (c Config) Get(name string) (Context, bool) {
	for _, x := range c.Contexts {
		if x.Name == name {
			return x, true
		}
	}
	return Context{}, false
}

// Put adds or replaces the context of the same name.
func (c *Config) Put(x Context) {
	for i := range c.Contexts {
		if c.Contexts[i].Name == x.Name {
			c.Contexts[i] = x
			return
		}
	}
	c.Contexts = append(c.Contexts, x)
}

// CurrentContext returns the context in use.
func (c Config) CurrentContext() (Context, error) {
	if c.Current == "" {
		return Context{}, errors.New("not logged in: run berth login --server URL --username NAME --password-stdin")
	}
	x, ok := c.Get(c.Current)
	if !ok {
		return Context{}, fmt.Errorf("current context %q is not in the config file", c.Current)
	}
	return x, nil
}

// Session is what a command needs to call the server: the client of the
// current context, the context itself, and where the config lives.
type Session struct {
	Client  *Client
	Context Context
	Config  Config
	Path    string
}

// Open loads the config named by getenv (see ConfigPath) and returns a
// client of its current context. BERTH_SERVER and BERTH_TOKEN override the
// context's server and token.
func Open(getenv func(string) string) (*Session, error) {
	path, err := ConfigPath(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	ctx, err := cfg.CurrentContext()
	if err != nil && getenv("BERTH_SERVER") == "" {
		return nil, err
	}
	if v := getenv("BERTH_SERVER"); v != "" {
		ctx.Server = v
	}
	if v := getenv("BERTH_TOKEN"); v != "" {
		ctx.Token = v
	}
	c := New(ctx.Server, ctx.Token)
	c.Language = Language(getenv)
	return &Session{Client: c, Context: ctx, Config: cfg, Path: path}, nil
}

// Language is the Accept-Language the CLI sends: BERTH_LANG, else the
// locale of LC_ALL, LC_MESSAGES or LANG ("zh_CN.UTF-8" becomes "zh-CN").
func Language(getenv func(string) string) string {
	if v := getenv("BERTH_LANG"); v != "" {
		return v
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(k)
		if v == "" || v == "C" || v == "POSIX" {
			continue
		}
		v, _, _ = strings.Cut(v, ".")
		v, _, _ = strings.Cut(v, "@")
		return strings.ReplaceAll(v, "_", "-")
	}
	return ""
}
