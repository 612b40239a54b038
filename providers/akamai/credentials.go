package akamai

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/akamai/AkamaiOPEN-edgegrid-golang/v13/pkg/edgegrid"

	"github.com/cdnctl/cdnctl/providers"
)

// Where credentials come from, as Akamai's own tools look for them.
const (
	// DefaultEdgerc is the credentials file in the home folder.
	DefaultEdgerc = "~/.edgerc"
	// DefaultSection is the section of the file read by default.
	DefaultSection = "default"
	// EdgercEnv and SectionEnv name another file or section.
	EdgercEnv  = "AKAMAI_EDGERC"
	SectionEnv = "AKAMAI_EDGERC_SECTION"
)

// credentialEnvs are the variables that hold a whole set of credentials,
// instead of a file (what EdgeGrid's FromEnv reads).
var credentialEnvs = []string{"AKAMAI_HOST", "AKAMAI_CLIENT_TOKEN", "AKAMAI_CLIENT_SECRET", "AKAMAI_ACCESS_TOKEN"}

// Credentials are an API client's EdgeGrid credentials. Tokens and secret
// never print (providers.Secret).
type Credentials struct {
	// Host is the API client's hostname (akab-….luna.akamaiapis.net).
	Host         string
	ClientToken  providers.Secret
	ClientSecret providers.Secret
	AccessToken  providers.Secret
	// AccountKey switches to another account (accountSwitchKey), for
	// clients that manage several.
	AccountKey string
	// Source says where they were read, for messages: "~/.edgerc [ccu]"
	// or "AKAMAI_* environment variables".
	Source string
}

// CredentialOptions say where to look for credentials.
type CredentialOptions struct {
	// Edgerc and Section are the cdns entry's edgerc and section keys;
	// when either is set the file is read even if AKAMAI_HOST and the
	// others are set.
	Edgerc, Section string
	// LookupEnv reads the environment (nil: os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Home is the home folder "~" stands for (nil: os.UserHomeDir).
	Home func() (string, error)
}

// LoadCredentials finds the API client's credentials the way Akamai's
// tools do:
//
//  1. with neither edgerc nor section configured, AKAMAI_HOST,
//     AKAMAI_CLIENT_TOKEN, AKAMAI_CLIENT_SECRET and AKAMAI_ACCESS_TOKEN
//     when they are set (all four, or it is an error naming the missing
//     ones);
//  2. otherwise the .edgerc file: the entry's edgerc, else $AKAMAI_EDGERC,
//     else ~/.edgerc; its section: the entry's section, else
//     $AKAMAI_EDGERC_SECTION, else "default".
//
// The file is parsed with Akamai's edgegrid package.
func LoadCredentials(o CredentialOptions) (*Credentials, error) {
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if o.Edgerc == "" && o.Section == "" {
		var set, missing []string
		for _, k := range credentialEnvs {
			if env(k) != "" {
				set = append(set, k)
			} else {
				missing = append(missing, k)
			}
		}
		if len(set) == len(credentialEnvs) {
			return &Credentials{
				Host:         env("AKAMAI_HOST"),
				ClientToken:  providers.Secret(env("AKAMAI_CLIENT_TOKEN")),
				ClientSecret: providers.Secret(env("AKAMAI_CLIENT_SECRET")),
				AccessToken:  providers.Secret(env("AKAMAI_ACCESS_TOKEN")),
				AccountKey:   env("AKAMAI_ACCOUNT_KEY"),
				Source:       "AKAMAI_* environment variables",
			}, nil
		}
		if len(set) > 0 {
			return nil, fmt.Errorf("akamai: %s set but not %s: set all four, or none to read ~/.edgerc", strings.Join(set, ", "), strings.Join(missing, ", "))
		}
	}
	path, section := o.Edgerc, o.Section
	if path == "" {
		path = env(EdgercEnv)
	}
	if path == "" {
		path = DefaultEdgerc
	}
	if section == "" {
		section = env(SectionEnv)
	}
	if section == "" {
		section = DefaultSection
	}
	expanded, err := expandHome(path, o.Home)
	if err != nil {
		return nil, fmt.Errorf("akamai: edgerc %s: %w", path, err)
	}
	if _, err := os.Stat(expanded); err != nil {
		return nil, fmt.Errorf("akamai: no credentials: %s: %w (create an API client with the CCU APIs service at READ-WRITE and save it there, or set %s)", path, errors.Unwrap(err), strings.Join(credentialEnvs, ", "))
	}
	var c edgegrid.Config
	if err := c.FromFile(expanded, section); err != nil {
		return nil, fmt.Errorf("akamai: %s [%s]: %w", path, section, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("akamai: %s [%s]: %w", path, section, err)
	}
	return &Credentials{
		Host:         c.Host,
		ClientToken:  providers.Secret(c.ClientToken),
		ClientSecret: providers.Secret(c.ClientSecret),
		AccessToken:  providers.Secret(c.AccessToken),
		AccountKey:   c.AccountKey,
		Source:       fmt.Sprintf("%s [%s]", path, section),
	}, nil
}

// expandHome replaces a leading "~/" with the home folder.
func expandHome(p string, home func() (string, error)) (string, error) {
	rest, ok := strings.CutPrefix(p, "~/")
	if !ok && p != "~" {
		return p, nil
	}
	if home == nil {
		home = os.UserHomeDir
	}
	h, err := home()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, rest), nil
}

// signer returns the EdgeGrid configuration that signs requests with c.
func (c *Credentials) signer() edgegrid.Config {
	return edgegrid.Config{
		Host:         c.Host,
		ClientToken:  c.ClientToken.Reveal(),
		ClientSecret: c.ClientSecret.Reveal(),
		AccessToken:  c.AccessToken.Reveal(),
		AccountKey:   c.AccountKey,
		MaxBody:      edgegrid.MaxBodySize,
	}
}
