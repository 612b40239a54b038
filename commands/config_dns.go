package commands

// DNSConfig is the `dns:` section of cdnctl.yaml.
type DNSConfig struct{}

func defaultDNSConfig() DNSConfig { return DNSConfig{} }
