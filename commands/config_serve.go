package commands

// ServeConfig is the `serve:` section of cdnctl.yaml.
type ServeConfig struct{}

func defaultServeConfig() ServeConfig { return ServeConfig{} }
