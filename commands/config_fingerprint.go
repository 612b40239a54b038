package commands

// FingerprintConfig is the `fingerprint:` section of cdnctl.yaml.
type FingerprintConfig struct {
	// HashLength is the number of hex digits of the SHA-256 in a
	// fingerprinted name.
	HashLength int `yaml:"hash_length" json:"hash_length"`
}

func defaultFingerprintConfig() FingerprintConfig {
	return FingerprintConfig{HashLength: 10}
}
