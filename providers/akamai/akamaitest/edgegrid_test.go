package akamaitest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestVerifierReproducesPublishedVectors checks this package's EG1
// implementation against every signature case of Akamai's vectors: the
// string to sign and the Authorization header, byte for byte.
func TestVerifierReproducesPublishedVectors(t *testing.T) {
	v, err := LoadVectors()
	if err != nil {
		t.Fatal(err)
	}
	if got := hmacBase64([]byte(v.ClientSecret), v.Timestamp); got != v.SignKeyTest {
		t.Errorf("signing key = %s; want %s", got, v.SignKeyTest)
	}
	n := 0
	for _, c := range v.Cases {
		if c.FailsWithMessage != "" {
			continue // the Python client's input validation, not a signature case
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			req, err := c.HTTPRequest(v.BaseURL)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if req.Body != nil {
				body, _ = io.ReadAll(req.Body)
			}
			pq := req.URL.EscapedPath()
			if req.URL.RawQuery != "" {
				pq += "?" + req.URL.RawQuery
			}
			auth := AuthHeader(v.ClientToken, v.AccessToken, v.Timestamp, v.Nonce)
			sts := StringToSign(req.Method, "https", req.Host, pq, CanonicalHeaders(req.Header, v.HeadersToSign), ContentHash(req.Method, body, v.MaxBody), auth)
			// The vectors' data to sign stops before the Authorization
			// header (the Python client appends it when signing).
			if sts != c.ExpectedDataToSign+auth {
				t.Errorf("string to sign\n got %q\nwant %q", sts, c.ExpectedDataToSign)
			}
			if got := auth + "signature=" + Signature(v.ClientSecret, v.Timestamp, sts); got != c.ExpectedAuthorization {
				t.Errorf("Authorization\n got %s\nwant %s", got, c.ExpectedAuthorization)
			}
		})
	}
	if n < 12 {
		t.Errorf("only %d signature cases ran; the vectors have 14", n)
	}

	// The JSON POST case of the Python client's tests (jsontest_hash):
	// POST /testapi/v1/t3?extended=true with {"key": "value"}, no signed
	// headers, the default max body.
	host := strings.TrimSuffix(strings.TrimPrefix(v.BaseURL, "https://"), "/")
	auth := AuthHeader(v.ClientToken, v.AccessToken, v.Timestamp, v.Nonce)
	sts := StringToSign(http.MethodPost, "https", host, "/testapi/v1/t3?extended=true", "", ContentHash(http.MethodPost, []byte(`{"key": "value"}`), 131072), auth)
	if got := auth + "signature=" + Signature(v.ClientSecret, v.Timestamp, sts); got != v.JSONTestHash {
		t.Errorf("JSON POST Authorization\n got %s\nwant %s", got, v.JSONTestHash)
	}
}
