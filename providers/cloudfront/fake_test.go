package cloudfront

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCloudFront is a strict fake of the CloudFront API's invalidation
// operations (API version 2020-05-31, REST-XML), checking every request as
// the API reference defines it:
//
//   - POST /2020-05-31/distribution/{DistributionId}/invalidation with an
//     InvalidationBatch document; 201 Created, a Location header and an
//     Invalidation document.
//     https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
//   - GET /2020-05-31/distribution/{DistributionId}/invalidation/{Id}
//     https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetInvalidation.html
//   - Quantity equals the number of Path items (else
//     InconsistentQuantities); a CallerReference seen before with other
//     paths is InvalidationBatchAlreadyExists, with the same paths it
//     returns the existing invalidation.
//     https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_InvalidationBatch.html
//   - paths start with "/", are URL-encoded where RFC 1738 says unsafe,
//     have "*" only at the end, are at most 4,000 characters; tag items
//     start with "#".
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-objects.html
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-tags.html
//   - at most 3,000 individual paths and 15 wildcard paths in progress per
//     distribution, else TooManyInvalidationsInProgress.
//     https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html
//   - Signature Version 4 (service cloudfront, region us-east-1): the
//     Authorization header is verified against the secret key, and
//     X-Amz-Date must be within 15 minutes.
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
//   - errors are <ErrorResponse><Error><Type/><Code/><Message/></Error>
//     <RequestId/></ErrorResponse> with the HTTP status of the error; every
//     answer carries the request ID in x-amzn-RequestId.
//     https://docs.aws.amazon.com/cloudfront/latest/APIReference/CommonErrors.html
type fakeCloudFront struct {
	t      *testing.T
	srv    *httptest.Server
	dist   string
	keyID  string
	secret string

	mu sync.Mutex // guards the fields below
	// completeAfter is the number of GetInvalidation calls after which an
	// invalidation is Completed (1: the first poll sees it completed).
	completeAfter int
	// maxFiles and maxWildcards are the in-progress limits.
	maxFiles, maxWildcards int
	// busyFiles occupies room with invalidations of "someone else".
	busyFiles int
	// upperStatus answers statuses in capitals, as moto does
	// ("COMPLETED").
	upperStatus                  bool
	faults                       map[string][]cfFault // by operation: "create", "get"
	invalidations                map[string]*fakeInvalidation
	order                        []string // invalidation IDs, by creation
	refs                         map[string]string
	creates, gets, seq, requests int
	events                       []string // "create I1 (n paths)", "get I1 → Completed"
}

type fakeInvalidation struct {
	id, ref string
	paths   []string
	polls   int
	created time.Time
}

// cfFault is the answer to one request of an operation: status 0 lets the
// request through; lost processes it but answers 500, as if the answer had
// been lost on the way back.
type cfFault struct {
	status int
	code   string
	lost   bool
}

var pass = cfFault{}

func newFakeCloudFront(t *testing.T, dist, keyID, secret string) *fakeCloudFront {
	f := &fakeCloudFront{
		t: t, dist: dist, keyID: keyID, secret: secret,
		completeAfter: 1, maxFiles: 3000, maxWildcards: 15,
		invalidations: map[string]*fakeInvalidation{}, refs: map[string]string{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// inject queues answers for the next requests of op.
func (f *fakeCloudFront) inject(op string, fs ...cfFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.faults == nil {
		f.faults = map[string][]cfFault{}
	}
	f.faults[op] = append(f.faults[op], fs...)
}

const cfNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

type xmlPaths struct {
	Quantity *int      `xml:"Quantity"`
	Items    *[]string `xml:"Items>Path"`
	Unknown  []xml.Name
}

type xmlBatch struct {
	XMLName         xml.Name
	CallerReference *string   `xml:"CallerReference"`
	Paths           *xmlPaths `xml:"Paths"`
	Other           []struct {
		XMLName xml.Name
	} `xml:",any"`
}

func (f *fakeCloudFront) fail(w http.ResponseWriter, status int, code, msg string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", f.requestID())
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0"?>`+"\n"+`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		cfNS, typ, code, xmlEscape(msg), w.Header().Get("X-Amzn-Requestid"))
}

func (f *fakeCloudFront) requestID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	return fmt.Sprintf("req-%04d-0000-4000-8000-000000000000", f.requests)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var (
	createRe = regexp.MustCompile(`^/2020-05-31/distribution/([^/]+)/invalidation$`)
	getRe    = regexp.MustCompile(`^/2020-05-31/distribution/([^/]+)/invalidation/([^/]+)$`)
)

func (f *fakeCloudFront) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.fail(w, 400, "MalformedInput", "cannot read the body")
		return
	}
	if code, msg := f.checkSignature(r, body); code != "" {
		f.fail(w, http.StatusForbidden, code, msg)
		return
	}
	op := ""
	switch {
	case r.Method == http.MethodPost && createRe.MatchString(r.URL.Path):
		op = "create"
	case r.Method == http.MethodGet && getRe.MatchString(r.URL.Path):
		op = "get"
	default:
		f.fail(w, http.StatusNotFound, "NotFound", "no such operation: "+r.Method+" "+r.URL.Path)
		return
	}
	f.mu.Lock()
	var flt cfFault
	if q := f.faults[op]; len(q) > 0 {
		flt, f.faults[op] = q[0], q[1:]
	}
	f.mu.Unlock()
	switch {
	case flt.lost:
		f.create(httptest.NewRecorder(), r, createRe.FindStringSubmatch(r.URL.Path)[1], body)
		f.fail(w, http.StatusInternalServerError, "InternalError", "injected: the answer was lost")
		return
	case flt.status != 0:
		f.fail(w, flt.status, flt.code, "injected "+flt.code)
		return
	}
	if op == "create" {
		f.create(w, r, createRe.FindStringSubmatch(r.URL.Path)[1], body)
		return
	}
	m := getRe.FindStringSubmatch(r.URL.Path)
	f.get(w, m[1], m[2])
}

func (f *fakeCloudFront) create(w http.ResponseWriter, r *http.Request, dist string, body []byte) {
	if dist != f.dist {
		f.fail(w, 404, "NoSuchDistribution", "The specified distribution does not exist.")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/xml" && mt != "text/xml" {
		f.fail(w, 400, "MissingBody", "This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
		return
	}
	var batch xmlBatch
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&batch); err != nil {
		f.fail(w, 400, "MalformedInput", "the InvalidationBatch document does not parse: "+err.Error())
		return
	}
	switch {
	case batch.XMLName.Local != "InvalidationBatch" || batch.XMLName.Space != cfNS:
		f.fail(w, 400, "MalformedInput", "the root element must be InvalidationBatch in namespace "+cfNS+", not "+batch.XMLName.Space+" "+batch.XMLName.Local)
		return
	case len(batch.Other) > 0:
		f.fail(w, 400, "MalformedInput", "unexpected element "+batch.Other[0].XMLName.Local)
		return
	case batch.CallerReference == nil || *batch.CallerReference == "":
		f.fail(w, 400, "InvalidArgument", "CallerReference is required")
		return
	case batch.Paths == nil || batch.Paths.Quantity == nil:
		f.fail(w, 400, "InvalidArgument", "Paths.Quantity is required")
		return
	}
	var items []string
	if batch.Paths.Items != nil {
		items = *batch.Paths.Items
	}
	if *batch.Paths.Quantity != len(items) {
		f.fail(w, 400, "InconsistentQuantities", fmt.Sprintf("The value of Quantity (%d) and the size of Items (%d) don't match.", *batch.Paths.Quantity, len(items)))
		return
	}
	if len(items) == 0 {
		f.fail(w, 400, "InvalidArgument", "an invalidation batch needs at least one path")
		return
	}
	wild, files := 0, 0
	for _, p := range items {
		if msg := checkFakePath(p); msg != "" {
			f.fail(w, 400, "InvalidArgument", msg)
			return
		}
		if strings.HasSuffix(p, "*") {
			wild++
		} else {
			files++
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	ref := *batch.CallerReference
	if id, ok := f.refs[ref]; ok {
		inv := f.invalidations[id]
		if strings.Join(inv.paths, "\n") != strings.Join(items, "\n") {
			f.mu.Unlock()
			f.fail(w, 409, "InvalidationBatchAlreadyExists", "CallerReference "+ref+" was used with other paths")
			f.mu.Lock()
			return
		}
		f.events = append(f.events, "replay "+id)
		f.writeInvalidation(w, http.StatusCreated, inv)
		return
	}
	inW, inF := f.inProgress()
	if inW+wild > f.maxWildcards || inF+files+f.busyFiles > f.maxFiles {
		f.mu.Unlock()
		f.fail(w, 400, "TooManyInvalidationsInProgress", fmt.Sprintf("Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations (%d in progress + %d) or individual paths (%d + %d).", inW, wild, inF+f.busyFiles, files))
		f.mu.Lock()
		return
	}
	f.seq++
	inv := &fakeInvalidation{id: fmt.Sprintf("I%013d", f.seq), ref: ref, paths: items, created: time.Now().UTC()}
	f.invalidations[inv.id] = inv
	f.order = append(f.order, inv.id)
	f.refs[ref] = inv.id
	f.creates++
	f.events = append(f.events, fmt.Sprintf("create %s (%d paths)", inv.id, len(items)))
	w.Header().Set("Location", fmt.Sprintf("https://cloudfront.amazonaws.com/2020-05-31/distribution/%s/invalidation/%s", f.dist, inv.id))
	f.writeInvalidation(w, http.StatusCreated, inv)
}

// checkFakePath applies the documented rules to one Path item.
func checkFakePath(p string) string {
	if strings.HasPrefix(p, "#") {
		for i := 1; i < len(p); i++ {
			if c := p[i]; c < 33 || c > 126 || c == ',' {
				return fmt.Sprintf("tag item %q holds a character outside ASCII 33-126 or a comma", p)
			}
		}
		if len(p) == 1 || len(p) > 257 {
			return fmt.Sprintf("tag item %q must have 1 to 256 characters", p)
		}
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("path %q must begin with a slash (/)", p)
	}
	if len(p) > 4000 {
		return fmt.Sprintf("path of %d characters exceeds 4000", len(p))
	}
	if strings.Contains(strings.TrimSuffix(p, "*"), "*") {
		return fmt.Sprintf("path %q: the * wildcard is allowed only at the end", p)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>#{}|\\^~[]`", c) >= 0 {
			return fmt.Sprintf("path %q is not URL-encoded (character %q)", p, c)
		}
		if c == '%' && (i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2])) {
			return fmt.Sprintf("path %q has a malformed percent-escape", p)
		}
	}
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// inProgress counts the wildcard and individual paths in progress. f.mu
// must be held.
func (f *fakeCloudFront) inProgress() (wild, files int) {
	for _, inv := range f.invalidations {
		if inv.polls >= f.completeAfter {
			continue
		}
		for _, p := range inv.paths {
			if strings.HasSuffix(p, "*") {
				wild++
			} else {
				files++
			}
		}
	}
	return wild, files
}

func (f *fakeCloudFront) get(w http.ResponseWriter, dist, id string) {
	if dist != f.dist {
		f.fail(w, 404, "NoSuchDistribution", "The specified distribution does not exist.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, ok := f.invalidations[id]
	if !ok {
		f.mu.Unlock()
		f.fail(w, 404, "NoSuchInvalidation", "The specified invalidation does not exist.")
		f.mu.Lock()
		return
	}
	inv.polls++
	f.gets++
	f.events = append(f.events, fmt.Sprintf("get %s → %s", id, f.status(inv)))
	f.writeInvalidation(w, http.StatusOK, inv)
}

func (f *fakeCloudFront) status(inv *fakeInvalidation) string {
	st := "InProgress"
	if inv.polls >= f.completeAfter {
		st = "Completed"
	}
	if f.upperStatus {
		st = strings.ToUpper(st)
	}
	return st
}

// writeInvalidation writes an Invalidation document. f.mu must be held.
func (f *fakeCloudFront) writeInvalidation(w http.ResponseWriter, status int, inv *fakeInvalidation) {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Invalidation xmlns="%s"><Id>%s</Id><Status>%s</Status><CreateTime>%s</CreateTime><InvalidationBatch><Paths><Quantity>%d</Quantity><Items>`,
		cfNS, inv.id, f.status(inv), inv.created.Format(time.RFC3339), len(inv.paths))
	for _, p := range inv.paths {
		fmt.Fprintf(&b, "<Path>%s</Path>", xmlEscape(p))
	}
	fmt.Fprintf(&b, "</Items></Paths><CallerReference>%s</CallerReference></InvalidationBatch></Invalidation>", xmlEscape(inv.ref))
	f.requests++
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%04d-0000-4000-8000-000000000000", f.requests))
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

var authRe = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/([^/,]+)/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$`)

// checkSignature verifies a Signature Version 4 request the way AWS does:
// it rebuilds the canonical request from what was received, signs it with
// the secret key and compares. It returns an error code and message.
func (f *fakeCloudFront) checkSignature(r *http.Request, body []byte) (code, msg string) {
	auth := r.Header.Get("Authorization")
	m := authRe.FindStringSubmatch(auth)
	if m == nil {
		return "MissingAuthenticationToken", "Authorization header missing or not AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…"
	}
	keyID, day, region, service, signed, sig := m[1], m[2], m[3], m[4], m[5], m[6]
	if keyID != f.keyID {
		return "InvalidClientTokenId", "The security token included in the request is invalid (access key " + keyID + ")"
	}
	if region != "us-east-1" || service != "cloudfront" {
		return "SignatureDoesNotMatch", "credential scope must be us-east-1/cloudfront, not " + region + "/" + service
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, day) {
		return "IncompleteSignature", "X-Amz-Date " + strconv.Quote(amzDate) + " missing, malformed or not the credential's day"
	}
	if d := time.Since(t); d > 15*time.Minute || d < -15*time.Minute {
		return "RequestExpired", "X-Amz-Date is more than 15 minutes from the server's time"
	}
	names := strings.Split(signed, ";")
	if !sort.StringsAreSorted(names) || !contains(names, "host") || !contains(names, "x-amz-date") {
		return "IncompleteSignature", "SignedHeaders must be sorted and include host and x-amz-date: " + signed
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n" + canonicalQuery(r) + "\n")
	for _, h := range names {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return "XAmzContentSHA256Mismatch", "the body's SHA-256 does not match X-Amz-Content-Sha256"
	}
	canon.WriteString("\n" + signed + "\n" + payload)
	creq := sha256.Sum256([]byte(canon.String()))
	scope := day + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	key := hmacSHA256([]byte("AWS4"+f.secret), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	return "", ""
}

func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fakeCloudFront) snapshot() (events []string, creates, gets int, invs []*fakeInvalidation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.order {
		c := *f.invalidations[id]
		invs = append(invs, &c)
	}
	return append([]string(nil), f.events...), f.creates, f.gets, invs
}
