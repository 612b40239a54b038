// Command leafcert writes a leaf certificate and key signed by cdnctl's
// local CA — the same CA, key type (ECDSA P-256), validity and names as
// the certificate cdnctl serve --https presents — for the servers that
// bench/edge/https.sh compares with cdnctl (nginx). The key is written
// with mode 0600 and belongs to the benchmark's temporary folder.
//
//	leafcert -ca DIR -out DIR NAME...
package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/cdnctl/cdnctl/localedge/localca"
)

func main() {
	caDir := flag.String("ca", "", "the local CA's folder (created when empty)")
	out := flag.String("out", ".", "where leaf.pem and leaf-key.pem are written")
	flag.Parse()
	if *caDir == "" || flag.NArg() == 0 {
		log.Fatal("usage: leafcert -ca DIR -out DIR NAME...")
	}
	ca, _, err := localca.LoadOrCreate(*caDir, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	names, err := localca.ParseNames(flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	leaves := &localca.Leaves{CA: ca, Names: names}
	c, err := leaves.Certificate()
	if err != nil {
		log.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		log.Fatal(err)
	}
	certFile, keyFile := filepath.Join(*out, "leaf.pem"), filepath.Join(*out, "leaf-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Println(certFile, keyFile)
}
