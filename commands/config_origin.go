package commands

// OriginConfig is the `origin:` section of cdnctl.yaml.
type OriginConfig struct{}

func defaultOriginConfig() OriginConfig { return OriginConfig{} }
