//go:build !linux

package truststores

func systemStoreKnown() error { return nil }

func linuxSystemStore() (dest string, update []string) {
	return "/usr/local/share/ca-certificates/%s.crt", []string{"update-ca-certificates"}
}
