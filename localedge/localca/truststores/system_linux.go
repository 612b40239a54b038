package truststores

import (
	"errors"

	"github.com/smallstep/truststore"
)

// systemStoreKnown says whether truststore found how to update this
// distribution's store.
func systemStoreKnown() error {
	if truststore.SystemTrustCommand == nil {
		return errors.New("no known system trust store on this Linux (none of update-ca-certificates, update-ca-trust or trust)")
	}
	return nil
}

// linuxSystemStore is where this distribution keeps added roots (a
// format with one %s) and the command that rebuilds its store.
func linuxSystemStore() (dest string, update []string) {
	if truststore.SystemTrustFilename == "" {
		return "/usr/local/share/ca-certificates/%s.crt", []string{"update-ca-certificates"}
	}
	return truststore.SystemTrustFilename, truststore.SystemTrustCommand
}
