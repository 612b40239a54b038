package local

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"

	"github.com/cdnctl/cdnctl/providers"
)

type ioReadSeekCloser = io.ReadSeekCloser

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func errorsIsNotFound(err error) bool { return errors.Is(err, providers.ErrStateNotFound) }
