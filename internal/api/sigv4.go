package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Keys looks up the secret of an access key ID.
type Keys interface {
	Secret(accessKeyID string) (secret string, ok bool)
}

// Authenticator verifies AWS Signature Version 4 on requests. It recomputes
// the signature with the AWS SDK's signer over exactly the headers the
// client signed, instead of re-implementing the canonical request.
type Authenticator struct {
	Keys    Keys
	Region  string
	Service string           // signing name, "apprunner"
	MaxSkew time.Duration    // AWS allows 15 minutes
	Now     func() time.Time // for tests
}

// authError is an authentication failure with its AWS error code.
type authError struct{ code, msg string }

func (e *authError) Error() string { return e.code + ": " + e.msg }

const amzDateFormat = "20060102T150405Z"

// Verify checks r's signature over body. It returns the access key ID.
func (a *Authenticator) Verify(ctx context.Context, r *http.Request, body []byte) (string, error) {
	pre, err := a.precheck(r)
	if err != nil {
		return "", err
	}
	return a.verifySignature(ctx, r, body, pre)
}

// Precheck runs the checks that need no body (a known key, the scope, the
// signed headers, the clock), so that a request can be refused before its
// body is read.
func (a *Authenticator) Precheck(r *http.Request) error {
	_, err := a.precheck(r)
	return err
}

// prechecked is what precheck learnt from the headers.
type prechecked struct {
	parsed   authorization
	secret   string
	signedAt time.Time
}

func (a *Authenticator) precheck(r *http.Request) (prechecked, error) {
	var none prechecked
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return none, &authError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	parsed, err := parseAuthorization(authz)
	if err != nil {
		return none, &authError{"IncompleteSignatureException", err.Error()}
	}
	secret, ok := a.Keys.Secret(parsed.accessKey)
	if !ok {
		return none, &authError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if parsed.service != a.Service || parsed.region != a.Region {
		return none, &authError{"InvalidSignatureException", fmt.Sprintf(
			"Credential should be scoped to a valid region and service: expected %s/%s, got %s/%s.",
			a.Region, a.Service, parsed.region, parsed.service)}
	}
	if err := checkSignedHeaders(r.Header, parsed.signedHeaders); err != nil {
		return none, err
	}
	dateHeader := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse(amzDateFormat, dateHeader)
	if err != nil {
		return none, &authError{"IncompleteSignatureException", "Authorization header requires a valid X-Amz-Date header."}
	}
	if !strings.HasPrefix(dateHeader, parsed.date) {
		return none, &authError{"InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP."}
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if t := now().UTC(); signedAt.Before(t.Add(-a.MaxSkew)) {
		return none, &authError{"InvalidSignatureException", fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - %d min.)",
			dateHeader, t.Add(-a.MaxSkew).Format(amzDateFormat), t.Format(amzDateFormat), int(a.MaxSkew.Minutes()))}
	} else if signedAt.After(t.Add(a.MaxSkew)) {
		return none, &authError{"InvalidSignatureException", fmt.Sprintf(
			"Signature not yet current: %s is still later than %s (%s + %d min.)",
			dateHeader, t.Add(a.MaxSkew).Format(amzDateFormat), t.Format(amzDateFormat), int(a.MaxSkew.Minutes()))}
	}

	return prechecked{parsed: parsed, secret: secret, signedAt: signedAt}, nil
}

func (a *Authenticator) verifySignature(ctx context.Context, r *http.Request, body []byte, pre prechecked) (string, error) {
	parsed, secret, signedAt := pre.parsed, pre.secret, pre.signedAt
	// Rebuild the request with only the headers the client signed, and
	// let the SDK's signer compute what the signature must be.
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	check, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", &authError{"InvalidSignatureException", "malformed request"}
	}
	check.Host = r.Host
	check.Header = http.Header{}
	check.ContentLength = 0
	creds := aws.Credentials{AccessKeyID: parsed.accessKey, SecretAccessKey: secret}
	for _, h := range parsed.signedHeaders {
		switch h {
		case "host":
		case "content-length":
			check.ContentLength = r.ContentLength
			if check.ContentLength < 0 {
				check.ContentLength = int64(len(body))
			}
		case "x-amz-security-token":
			creds.SessionToken = r.Header.Get(h)
		default:
			for _, v := range r.Header.Values(h) {
				check.Header.Add(h, v)
			}
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(ctx, creds, check, hex.EncodeToString(sum[:]), parsed.service, parsed.region, signedAt)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	want, err := parseAuthorization(check.Header.Get("Authorization"))
	if err != nil {
		return "", fmt.Errorf("parse own signature: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(parsed.signature)) != 1 ||
		strings.Join(want.signedHeaders, ";") != strings.Join(parsed.signedHeaders, ";") {
		return "", &authError{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return parsed.accessKey, nil
}

// checkSignedHeaders requires host and every x-amz-* header the request
// carries (its date, its operation in X-Amz-Target) to be signed: an
// unsigned header could be swapped on a captured request, turning a signed
// DescribeService into a PauseService.
func checkSignedHeaders(h http.Header, signed []string) error {
	if !slices.Contains(signed, "host") {
		return &authError{"IncompleteSignatureException",
			"'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	for name := range h {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-amz-") && !slices.Contains(signed, l) {
			return &authError{"IncompleteSignatureException",
				fmt.Sprintf("'%s' must be a 'SignedHeader' in the AWS Authorization.", name)}
		}
	}
	return nil
}

type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

var errMalformedAuth = errors.New("malformed Authorization header")

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apprunner/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	algo, rest, ok := strings.Cut(h, " ")
	if !ok || algo != "AWS4-HMAC-SHA256" {
		return a, fmt.Errorf("%w: unsupported algorithm %q", errMalformedAuth, algo)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, fmt.Errorf("%w: bad Credential", errMalformedAuth)
			}
			a.accessKey, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKey == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return a, fmt.Errorf("%w: Credential, SignedHeaders and Signature are required", errMalformedAuth)
	}
	return a, nil
}
