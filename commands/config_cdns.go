package commands

// CDNConfig is one entry of the `cdns:` list of cdnctl.yaml: a CDN that
// purge (and deploy) can target.
type CDNConfig struct{}
