package api

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
)

// stsNamespace is the XML namespace of STS's Query protocol answers.
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// STS serves STS's GetCallerIdentity over the AWS Query protocol, so that
// tools which ask who they are before anything else (Terraform's AWS
// provider, `aws sts get-caller-identity`) work with only an endpoint
// override. Every key pair Slipway accepts is an IAM user of its account.
type STS struct {
	auth    *Authenticator // signing name "sts"
	account string
	log     *slog.Logger
}

// NewSTS returns STS's handler; auth is the API's authenticator.
func NewSTS(auth *Authenticator, account string, log *slog.Logger) *STS {
	return &STS{auth: auth.ForService("sts"), account: account, log: log}
}

type callerIdentityResponse struct {
	XMLName   xml.Name `xml:"GetCallerIdentityResponse"`
	Namespace string   `xml:"xmlns,attr"`
	Result    struct {
		Arn     string
		UserId  string
		Account string
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if err := s.auth.Precheck(r); err != nil {
		writeQueryError(w, reqID, toWireError(err))
		return
	}
	body, err := readRequestBody(r, smallBody)
	if err != nil {
		writeQueryError(w, reqID, toWireError(err))
		return
	}
	key, err := s.auth.Verify(r.Context(), r, body)
	if err != nil {
		writeQueryError(w, reqID, toWireError(err))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeQueryError(w, reqID, &wireError{code: "MalformedInput", status: 400, msg: "the body is not a form: " + err.Error()})
		return
	}
	if a := form.Get("Action"); a != "GetCallerIdentity" {
		writeQueryError(w, reqID, &wireError{code: "InvalidAction", status: 400,
			msg: fmt.Sprintf("Slipway serves only GetCallerIdentity of STS, not %q.", a)})
		return
	}
	var out callerIdentityResponse
	out.Namespace = stsNamespace
	out.Result.Account = s.account
	out.Result.Arn = fmt.Sprintf("arn:aws:iam::%s:user/slipway", s.account)
	out.Result.UserId = userID(key)
	out.RequestID = reqID
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(out)
	s.log.Debug("sts", "op", "GetCallerIdentity", "request", reqID)
}

// userID is a stable IAM-style unique ID ("AIDA" and 17 characters) for an
// access key, as IAM gives each user one.
func userID(accessKey string) string {
	sum := sha256.Sum256([]byte(accessKey))
	return "AIDA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

type queryError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Namespace string   `xml:"xmlns,attr"`
	Error     struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// queryCodes are the Query protocol's names for the JSON protocols'
// authentication errors, as STS sends them.
var queryCodes = map[string]string{
	"InvalidSignatureException":           "SignatureDoesNotMatch",
	"UnrecognizedClientException":         "InvalidClientTokenId",
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"IncompleteSignatureException":        "IncompleteSignature",
}

// writeQueryError writes e as the Query protocol's XML error.
func writeQueryError(w http.ResponseWriter, reqID string, e *wireError) {
	if c, ok := queryCodes[e.code]; ok {
		e = &wireError{code: c, status: e.status, msg: e.msg}
	}
	var out queryError
	out.Namespace = stsNamespace
	out.Error.Type = "Sender"
	if e.status >= 500 {
		out.Error.Type = "Receiver"
	}
	out.Error.Code, out.Error.Message, out.RequestID = e.code, e.msg, reqID
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(out)
}
