package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
)

// signedAt is the fixed signing time of these tests.
var signedAt = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// staticKeys is a Keys holding one key pair.
type staticKeys map[string]string

func (k staticKeys) Secret(id string) (string, bool) {
	s, ok := k[id]
	return s, ok
}

func testAuth(now time.Time) *Authenticator {
	return &Authenticator{
		Keys:    staticKeys{testKeyID: testSecret},
		Region:  testRegion,
		Service: "apprunner",
		MaxSkew: 15 * time.Minute,
		Now:     func() time.Time { return now },
	}
}

// signOpts say how signRequest signs.
type signOpts struct {
	keyID, secret   string
	region, service string
	at              time.Time
	noContentLength bool // sign as botocore does: content-length not in SignedHeaders
	target          string
}

func (o signOpts) withDefaults() signOpts {
	if o.keyID == "" {
		o.keyID = testKeyID
	}
	if o.secret == "" {
		o.secret = testSecret
	}
	if o.region == "" {
		o.region = testRegion
	}
	if o.service == "" {
		o.service = "apprunner"
	}
	if o.at.IsZero() {
		o.at = signedAt
	}
	return o
}

// signRequest returns a POST / carrying body, signed by the AWS SDK's signer.
func signRequest(t *testing.T, body string, o signOpts) *http.Request {
	t.Helper()
	o = o.withDefaults()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	if o.target != "" {
		r.Header.Set("X-Amz-Target", o.target)
	}
	sum := sha256.Sum256([]byte(body))
	length := r.ContentLength
	if o.noContentLength {
		r.ContentLength = 0
	}
	creds := aws.Credentials{AccessKeyID: o.keyID, SecretAccessKey: o.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), o.service, o.region, o.at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	r.ContentLength = length
	return r
}

func authCode(err error) string {
	var ae *authError
	if errors.As(err, &ae) {
		return ae.code
	}
	if err != nil {
		return "non-auth error: " + err.Error()
	}
	return ""
}

func TestVerify(t *testing.T) {
	const body = `{"MaxResults":5}`
	tests := []struct {
		name     string
		opts     signOpts
		now      time.Time
		sendBody string // body Verify sees; defaults to the signed body
		mutate   func(r *http.Request)
		wantCode string // "" means the request verifies
	}{
		{name: "valid", now: signedAt},
		{name: "valid 14 minutes later", now: signedAt.Add(14 * time.Minute)},
		{name: "valid 14 minutes earlier", now: signedAt.Add(-14 * time.Minute)},
		{name: "signed without content-length (botocore)", opts: signOpts{noContentLength: true}, now: signedAt},
		{name: "wrong secret", opts: signOpts{secret: "not-the-secret"}, now: signedAt, wantCode: "InvalidSignatureException"},
		{name: "unknown key", opts: signOpts{keyID: "AKIDUNKNOWN"}, now: signedAt, wantCode: "UnrecognizedClientException"},
		{name: "expired: now 16 minutes after signing", now: signedAt.Add(16 * time.Minute), wantCode: "InvalidSignatureException"},
		{name: "not yet current: now 16 minutes before signing", now: signedAt.Add(-16 * time.Minute), wantCode: "InvalidSignatureException"},
		{name: "wrong region in scope", opts: signOpts{region: "eu-west-1"}, now: signedAt, wantCode: "InvalidSignatureException"},
		{name: "wrong service in scope", opts: signOpts{service: "lambda"}, now: signedAt, wantCode: "InvalidSignatureException"},
		{name: "tampered body", now: signedAt, sendBody: `{"MaxResults":6}`, wantCode: "InvalidSignatureException"},
		{name: "tampered body, no content-length signed", opts: signOpts{noContentLength: true}, now: signedAt,
			sendBody: `{"MaxResults":6}`, wantCode: "InvalidSignatureException"},
		{name: "tampered signed header", now: signedAt, wantCode: "InvalidSignatureException",
			mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }},
		{name: "missing Authorization", now: signedAt, wantCode: "MissingAuthenticationTokenException",
			mutate: func(r *http.Request) { r.Header.Del("Authorization") }},
		{name: "malformed Authorization: garbage", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage") }},
		{name: "malformed Authorization: other algorithm", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "Basic dXNlcjpwYXNz") }},
		{name: "malformed Authorization: short Credential", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKeyID+"/20240102/us-east-1, SignedHeaders=host, Signature=00")
			}},
		{name: "missing X-Amz-Date", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") }},
		{name: "operation header added after signing", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Target", "AppRunner.PauseService") }},
		{name: "operation header signed", opts: signOpts{target: "AppRunner.ListServices"}, now: signedAt},
		{name: "any x-amz header unsigned", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "x") }},
		{name: "host not signed", now: signedAt, wantCode: "IncompleteSignatureException",
			mutate: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;", 1))
			}},
		{name: "X-Amz-Date on another day than the scope", now: signedAt.Add(-5 * time.Minute), wantCode: "InvalidSignatureException",
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20240101T235959Z") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signRequest(t, body, tt.opts)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			send := body
			if tt.sendBody != "" {
				send = tt.sendBody
			}
			key, err := testAuth(tt.now).Verify(context.Background(), r, []byte(send))
			if got := authCode(err); got != tt.wantCode {
				t.Fatalf("Verify error code = %q (err %v), want %q", got, err, tt.wantCode)
			}
			if tt.wantCode == "" && key != testKeyID {
				t.Errorf("Verify key = %q, want %q", key, testKeyID)
			}
		})
	}
}

// TestVerifySignedHeaders checks the premise of the botocore case: the SDK
// signs content-length when the request has a length, and not otherwise.
func TestVerifySignedHeaders(t *testing.T) {
	for _, noLen := range []bool{false, true} {
		r := signRequest(t, "{}", signOpts{noContentLength: noLen})
		a, err := parseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(";"+strings.Join(a.signedHeaders, ";")+";", ";content-length;")
		if got == noLen {
			t.Errorf("noContentLength=%v: content-length signed = %v (SignedHeaders %v)", noLen, got, a.signedHeaders)
		}
		if r.ContentLength != 2 {
			t.Errorf("request ContentLength = %d, want 2", r.ContentLength)
		}
	}
}

func TestVerifyMessages(t *testing.T) {
	tests := []struct {
		name    string
		opts    signOpts
		now     time.Time
		wantMsg string
	}{
		{"expired", signOpts{}, signedAt.Add(16 * time.Minute), "Signature expired"},
		{"not yet current", signOpts{}, signedAt.Add(-16 * time.Minute), "Signature not yet current"},
		{"region", signOpts{region: "eu-west-1"}, signedAt, "expected us-east-1/apprunner, got eu-west-1/apprunner"},
		{"service", signOpts{service: "lambda"}, signedAt, "expected us-east-1/apprunner, got us-east-1/lambda"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signRequest(t, "{}", tt.opts)
			_, err := testAuth(tt.now).Verify(context.Background(), r, []byte("{}"))
			var ae *authError
			if !errors.As(err, &ae) {
				t.Fatalf("Verify error = %v, want an authError", err)
			}
			if !strings.Contains(ae.msg, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", ae.msg, tt.wantMsg)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	h := "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apprunner/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef"
	got, err := parseAuthorization(h)
	if err != nil {
		t.Fatalf("parseAuthorization: %v", err)
	}
	want := authorization{accessKey: "AKID", date: "20240101", region: "us-east-1", service: "apprunner",
		signedHeaders: []string{"host", "x-amz-date"}, signature: "abcdef"}
	if got.accessKey != want.accessKey || got.date != want.date || got.region != want.region ||
		got.service != want.service || got.signature != want.signature ||
		strings.Join(got.signedHeaders, ";") != strings.Join(want.signedHeaders, ";") {
		t.Errorf("parseAuthorization = %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apprunner/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apprunner/other, SignedHeaders=host, Signature=ab",
		"AWS4-HMAC-SHA1 Credential=AKID/20240101/us-east-1/apprunner/aws4_request, SignedHeaders=host, Signature=ab",
	} {
		if _, err := parseAuthorization(bad); !errors.Is(err, errMalformedAuth) {
			t.Errorf("parseAuthorization(%q) error = %v, want errMalformedAuth", bad, err)
		}
	}
}
