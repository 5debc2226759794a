package api

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParseAuthorization feeds Authorization headers to the SigV4 parser:
// it never panics, refuses with errMalformedAuth, and what it accepts has
// every field the signature check needs and reads the same once written
// back out.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/apprunner/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apprunner/aws4_request, SignedHeaders=host",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e/aws4_request, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 Signature=, Credential==/=/=/=/aws4_request, SignedHeaders=;",
		"AWS4-ECDSA-P256-SHA256 Credential=AKID/20240101/apprunner/aws4_request, SignedHeaders=host, Signature=x",
		"AWS AKID:signature",
		"AWS4-HMAC-SHA256",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if !errors.Is(err, errMalformedAuth) {
				t.Fatalf("parseAuthorization(%q) error %v does not wrap errMalformedAuth", h, err)
			}
			return
		}
		if a.accessKey == "" || len(a.signedHeaders) == 0 || a.signature == "" {
			t.Fatalf("parseAuthorization(%q) = %+v: accepted without a field it needs", h, a)
		}
		out := "AWS4-HMAC-SHA256 Credential=" + strings.Join([]string{a.accessKey, a.date, a.region, a.service, "aws4_request"}, "/") +
			", SignedHeaders=" + strings.Join(a.signedHeaders, ";") + ", Signature=" + a.signature
		b, err := parseAuthorization(out)
		if err != nil || b.accessKey != a.accessKey || b.date != a.date || b.region != a.region || b.service != a.service ||
			!slices.Equal(b.signedHeaders, a.signedHeaders) || b.signature != a.signature {
			t.Fatalf("parseAuthorization(%q) = %+v; written back as %q it reads %+v, %v", h, a, out, b, err)
		}
	})
}
