package servercmd

import (
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/sso/ldap"
	"berth.dev/berth/internal/sso/oidc"
)

// SignOn is the single sign-on a server was configured with.
type SignOn struct {
	Infos       []sso.ProviderInfo
	Directories []sso.PasswordDirectory
	OIDC        []sso.RedirectProvider
}

// LoadSSO reads the sign-on configuration at path (empty: none) and builds
// its directories and providers, in the file's order.
func LoadSSO(path string) (SignOn, error) {
	if path == "" {
		return SignOn{}, nil
	}
	c, err := sso.LoadConfig(path)
	if err != nil {
		return SignOn{}, err
	}
	s := SignOn{Infos: c.Infos()}
	for _, dc := range c.Directories {
		d, err := ldap.New(dc, clock.Real{})
		if err != nil {
			return SignOn{}, err
		}
		s.Directories = append(s.Directories, d)
	}
	for _, oc := range c.OIDC {
		p, err := oidc.New(oc)
		if err != nil {
			return SignOn{}, err
		}
		s.OIDC = append(s.OIDC, p)
	}
	return s, nil
}
