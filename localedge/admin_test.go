package localedge

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestJSONBodyType(t *testing.T) {
	for _, tt := range []struct {
		ct       string
		form     bool
		wantErr  bool
		errWords string
	}{
		{ct: ""},
		{ct: "application/json"},
		{ct: "application/json; charset=utf-8"},
		{ct: "Application/JSON"},
		{ct: "application/merge-patch+json"},
		{ct: "application/x-www-form-urlencoded", form: true}, // curl -d
		{ct: "text/plain", wantErr: true, errWords: `Content-Type "text/plain": want application/json`},
		{ct: "multipart/form-data; boundary=x", wantErr: true, errWords: "want application/json"},
		{ct: "application/jsonx", wantErr: true, errWords: "want application/json"},
		{ct: ";;", wantErr: true, errWords: "want application/json"},
	} {
		form, err := jsonBodyType(tt.ct)
		if form != tt.form || (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), tt.errWords)) {
			t.Errorf("jsonBodyType(%q) = %v, %v; want %v, error %v %q", tt.ct, form, err, tt.form, tt.wantErr, tt.errWords)
		}
	}
}

// TestAdminPurgeContentTypes sends purges as curl does: -d declares a
// form, --json declares JSON, and a real form body gets a hint.
func TestAdminPurgeContentTypes(t *testing.T) {
	top := startTopology(t, nil)
	tok := top.Token()
	for _, tt := range []struct {
		ct, body   string
		status     int
		errorWords string
	}{
		{"application/x-www-form-urlencoded", `{"all":true}`, 200, ""},
		{"application/json", `{"tags":["css"]}`, 200, ""},
		{"", `{"prefixes":["/css/"]}`, 200, ""},
		{"application/x-www-form-urlencoded", `urls=/index.html`, 400, `the body is a form; send a JSON object`},
		{"text/plain", `{"all":true}`, 400, `Content-Type "text/plain": want application/json`},
	} {
		req, err := http.NewRequest("POST", top.Info().Admin.URL+"/api/v1/purge", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if tt.ct != "" {
			req.Header.Set("Content-Type", tt.ct)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e ErrorResponse
		json.Unmarshal(b, &e)
		if resp.StatusCode != tt.status || !strings.Contains(e.Error, tt.errorWords) {
			t.Errorf("Content-Type %q, body %s: %d %s; want %d %q", tt.ct, tt.body, resp.StatusCode, b, tt.status, tt.errorWords)
		}
	}
}
