package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// DefaultConfigFile is read when --config is not given and the file exists
// in the working directory.
const DefaultConfigFile = "cdnctl.yaml"

// envPrefix starts every environment variable that overrides a config key:
// fingerprint.hash_length is CDNCTL_FINGERPRINT_HASH_LENGTH.
const envPrefix = "CDNCTL_"

// Config is the decoded cdnctl.yaml. Every key is documented in
// docs/config.md; each section's type lives in the file of the command that
// owns it (config_<section>.go). Precedence: flags > CDNCTL_* > file >
// defaults.
type Config struct {
	// Path is the file the config was read from ("" when none was).
	Path string `yaml:"-" json:"-"`

	Fingerprint FingerprintConfig `yaml:"fingerprint"`
	Serve       ServeConfig       `yaml:"serve"`
	DNS         DNSConfig         `yaml:"dns"`
	Origin      OriginConfig      `yaml:"origin"`
	CDNs        []CDNConfig       `yaml:"cdns"`
	Inspect     InspectConfig     `yaml:"inspect"`
	Deploy      DeployConfig      `yaml:"deploy"`
	// Environments are named variants of the sections above
	// (`cdnctl deploy --env staging`).
	Environments map[string]EnvironmentConfig `yaml:"environments"`
}

// DefaultConfig returns the configuration used when no file sets a key.
func DefaultConfig() *Config {
	return &Config{
		Fingerprint: defaultFingerprintConfig(),
		Serve:       defaultServeConfig(),
		DNS:         defaultDNSConfig(),
		Origin:      defaultOriginConfig(),
		Inspect:     defaultInspectConfig(),
		Deploy:      defaultDeployConfig(),
	}
}

// LoadConfig reads path strictly: an unknown key or a value of the wrong
// type is an error naming the file, line and key. explicit says whether the
// user named the file (then it must exist) or it is the optional default.
// lookupEnv supplies CDNCTL_* overrides (os.LookupEnv in production).
func LoadConfig(path string, explicit bool, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := decodeConfig(path, data, cfg); err != nil {
				return nil, err
			}
			cfg.Path = path
		case errors.Is(err, fs.ErrNotExist) && !explicit:
			// No default config file: defaults and environment only.
		default:
			return nil, configError(fmt.Errorf("config: %w", err))
		}
	}
	if lookupEnv != nil {
		if err := applyEnv(reflect.ValueOf(cfg).Elem(), envPrefix, lookupEnv); err != nil {
			return nil, configError(fmt.Errorf("config: %w", err))
		}
	}
	return cfg, nil
}

func decodeConfig(path string, data []byte, cfg *Config) error {
	// An empty (or comments-only) file is a null document, which the
	// decoder would turn into a zero Config, dropping every default.
	var doc any
	if err := yaml.Unmarshal(data, &doc); err == nil && doc == nil {
		return nil
	}
	err := yaml.UnmarshalWithOptions(data, cfg, yaml.DisallowUnknownField(), yaml.CustomUnmarshaler(oneOrList))
	if err == nil {
		return nil
	}
	var ye yamlError
	if !errors.As(err, &ye) {
		// oneOrList's errors carry no position: decoding without it
		// finds the same mistake with its line and key.
		if err2 := yaml.UnmarshalWithOptions(data, DefaultConfig(), yaml.DisallowUnknownField()); errors.As(err2, &ye) {
			err = err2
		}
	}
	e := configDecodeError(path, data, err)
	if s := suggestKey(data, err); s != "" {
		e = fmt.Errorf("%w: did you mean %q?", e, s)
	}
	return configError(e)
}

// oneOrList decodes a list of strings, where a single value stands for a
// list of one: "match: '*.css'" is "match: ['*.css']", for every list key
// (docs/config.md).
func oneOrList(dst *[]string, data []byte) error {
	var one string
	if err := yaml.Unmarshal(data, &one); err == nil {
		if strings.TrimSpace(string(data)) == "" || strings.TrimSpace(string(data)) == "null" {
			*dst = nil
			return nil
		}
		*dst = []string{one}
		return nil
	}
	var list []string
	if err := yaml.Unmarshal(data, &list); err != nil {
		return errors.New("want a list of text values (or one)")
	}
	*dst = list
	return nil
}

// yamlError is the part of goccy/go-yaml's error types we use; the library
// does not export the interface.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

// configDecodeError rewrites a YAML decoding error as "FILE:LINE:COL: key
// "k": message", without the source excerpt the library adds.
func configDecodeError(path string, data []byte, err error) error {
	var ye yamlError
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		// A duration the decoder parsed itself comes without a position:
		// find the value in the file.
		if v, ok := durationValue(err); ok {
			if tk, ok := locateValue(data, v); ok {
				msg := fmt.Sprintf("want a duration such as 30s, 5m or 1h30m, got %q", v)
				if key := configKeyAt(tk); key != "" {
					return fmt.Errorf("%s:%d:%d: key %q: %s", path, tk.Position.Line, tk.Position.Column, key, msg)
				}
				return fmt.Errorf("%s:%d:%d: %s", path, tk.Position.Line, tk.Position.Column, msg)
			}
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	tk := ye.GetToken()
	msg := configMessage(err)
	key := configKeyAt(tk)
	if key != "" {
		return fmt.Errorf("%s:%d:%d: key %q: %s", path, tk.Position.Line, tk.Position.Column, key, msg)
	}
	return fmt.Errorf("%s:%d:%d: %s", path, tk.Position.Line, tk.Position.Column, msg)
}

// configKeyAt finds the mapping key a token belongs to: the token itself
// when it is a key, else the key before the ':' that precedes it.
func configKeyAt(tk *token.Token) string {
	if tk.Next != nil && tk.Next.Type == token.MappingValueType {
		return tk.Value
	}
	for p := tk.Prev; p != nil; p = p.Prev {
		if p.Type == token.MappingValueType {
			if p.Prev != nil {
				return p.Prev.Value
			}
			return ""
		}
		if p.Position.Line != tk.Position.Line {
			break
		}
	}
	return ""
}

var durationType = reflect.TypeOf(time.Duration(0))

// applyEnv overrides scalar fields (and lists of strings, comma-separated)
// from environment variables named after their YAML path. Lists of
// structures and maps are only set from the file.
func applyEnv(v reflect.Value, prefix string, lookupEnv func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" || !f.IsExported() {
			continue
		}
		env := prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, env+"_", lookupEnv); err != nil {
				return err
			}
			continue
		}
		raw, ok := lookupEnv(env)
		if !ok {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			return fmt.Errorf("environment variable %s=%q: %w", env, raw, err)
		}
	}
	return nil
}

func setFromString(fv reflect.Value, raw string) error {
	if fv.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("want a duration such as 30s or 5m")
		}
		fv.SetInt(int64(d))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || fv.OverflowInt(n) {
			return fmt.Errorf("want an integer")
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || fv.OverflowUint(n) {
			return fmt.Errorf("want a non-negative integer")
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("want a number")
		}
		fv.SetFloat(n)
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("this key can only be set in the config file")
		}
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		fv.Set(reflect.ValueOf(items).Convert(fv.Type()))
	case reflect.Pointer:
		nv := reflect.New(fv.Type().Elem())
		if err := setFromString(nv.Elem(), raw); err != nil {
			return err
		}
		fv.Set(nv)
	default:
		return fmt.Errorf("this key can only be set in the config file")
	}
	return nil
}
