package dnsupdate

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/libdns/libdns"
	"github.com/miekg/dns"
)

// DefaultAlgorithm is the TSIG algorithm when Config.KeyAlg is empty: what
// BIND's tsig-keygen makes by default.
const DefaultAlgorithm = "hmac-sha256"

// Config configures a Provider.
type Config struct {
	// Server is the primary server's host:port; updates and queries go to it
	// over TCP.
	Server string
	// KeyName names the TSIG key, as the server knows it.
	KeyName string
	// KeyAlg is the key's algorithm: hmac-sha1, hmac-sha224, hmac-sha256
	// (the default), hmac-sha384 or hmac-sha512.
	KeyAlg string
	// Secret is the key's secret, base64 as in BIND's key statement.
	Secret string
	// Timeout bounds one exchange with the server; 0 means 10 seconds.
	Timeout time.Duration
}

// Provider adds and deletes records through dynamic updates. It is safe for
// concurrent use: each call is one exchange, and the server applies each
// update atomically.
type Provider struct {
	server  string
	keyName string
	alg     string
	client  *dns.Client
}

// New checks cfg and returns a Provider; it does not contact the server.
func New(cfg Config) (*Provider, error) {
	if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
		return nil, fmt.Errorf("DNS server %q: want host:port: %w", cfg.Server, err)
	}
	if cfg.KeyName == "" {
		return nil, errors.New("no TSIG key name")
	}
	alg, err := algorithm(cfg.KeyAlg)
	if err != nil {
		return nil, err
	}
	if cfg.Secret == "" {
		return nil, errors.New("no TSIG secret")
	}
	if _, err := base64.StdEncoding.DecodeString(cfg.Secret); err != nil {
		return nil, fmt.Errorf("TSIG secret is not base64: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	name := dns.CanonicalName(cfg.KeyName)
	return &Provider{
		server:  cfg.Server,
		keyName: name,
		alg:     alg,
		client:  &dns.Client{Net: "tcp", Timeout: cfg.Timeout, TsigSecret: map[string]string{name: cfg.Secret}},
	}, nil
}

// algorithm returns the TSIG algorithm named s ("hmac-sha256", any case,
// with or without the final dot).
func algorithm(s string) (string, error) {
	if s == "" {
		s = DefaultAlgorithm
	}
	switch a := dns.CanonicalName(s); a {
	case dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512:
		return a, nil
	}
	return "", fmt.Errorf("TSIG algorithm %q: want hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512", s)
}

// secretRE finds the secret in a BIND key statement, as tsig-keygen
// writes it.
var secretRE = regexp.MustCompile(`secret\s+"([^"]*)"`)

// ParseSecret returns the base64 secret held in a key file: the secret
// alone, or a BIND key statement (tsig-keygen's output) that has one.
func ParseSecret(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	if m := secretRE.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if s == "" {
		return "", errors.New("no TSIG secret")
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return "", fmt.Errorf("TSIG secret is not base64: %w", err)
	}
	return s, nil
}

// AppendRecords adds recs to zone in one update, leaving other records of
// the same names and types in place, and returns them typed (libdns.TXT,
// ...).
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	zone = dns.CanonicalName(zone)
	rrs := make([]dns.RR, 0, len(recs))
	for _, r := range recs {
		rr, err := toDNS(r.RR(), zone)
		if err != nil {
			return nil, err
		}
		rrs = append(rrs, rr)
	}
	if len(rrs) == 0 {
		return nil, nil
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Insert(rrs)
	if err := p.update(ctx, m); err != nil {
		return nil, fmt.Errorf("adding records to %s: %w", zone, err)
	}
	return typed(recs)
}

// DeleteRecords deletes from zone the records that match recs (an empty
// type, TTL or data matches any) and returns those it deleted.
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	zone = dns.CanonicalName(zone)
	var (
		gone []dns.RR
		out  []libdns.Record
	)
	for _, r := range recs {
		want := r.RR()
		if want.Name == "" {
			return nil, errors.New("deleting a record without a name")
		}
		have, err := p.lookup(ctx, libdns.AbsoluteName(want.Name, zone), want.Type)
		if err != nil {
			return nil, err
		}
		for _, rr := range have {
			got := fromDNS(rr, zone)
			if !matches(want, got) {
				continue
			}
			gone = append(gone, dns.Copy(rr))
			rec, err := got.Parse()
			if err != nil {
				rec = got
			}
			out = append(out, rec)
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Remove(gone)
	if err := p.update(ctx, m); err != nil {
		return nil, fmt.Errorf("deleting records from %s: %w", zone, err)
	}
	return out, nil
}

// matches reports whether have is a record want asks to delete.
func matches(want, have libdns.RR) bool {
	return (want.Type == "" || strings.EqualFold(want.Type, have.Type)) &&
		(want.TTL == 0 || want.TTL == have.TTL) &&
		(want.Data == "" || want.Data == have.Data)
}

// lookup asks the server for name's records of type typ (all types when
// empty).
func (p *Provider) lookup(ctx context.Context, name, typ string) ([]dns.RR, error) {
	t := dns.TypeANY
	if typ != "" {
		var ok bool
		if t, ok = dns.StringToType[strings.ToUpper(typ)]; !ok {
			return nil, fmt.Errorf("unknown record type %q", typ)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	m.RecursionDesired = false
	resp, err := p.exchange(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("looking up %s %s: %w", name, dns.TypeToString[t], err)
	}
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("looking up %s %s: the server answered %s", name, dns.TypeToString[t], dns.RcodeToString[resp.Rcode])
	}
	var out []dns.RR
	for _, rr := range resp.Answer {
		h := rr.Header()
		// A CNAME the name points through, or records of the name it points
		// to, are not the name's own.
		if strings.EqualFold(h.Name, name) && (t == dns.TypeANY || h.Rrtype == t) {
			out = append(out, rr)
		}
	}
	return out, nil
}

// update sends an update and checks the server applied it.
func (p *Provider) update(ctx context.Context, m *dns.Msg) error {
	resp, err := p.exchange(ctx, m)
	if err != nil {
		return err
	}
	if resp.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("the server refused the update: %s", dns.RcodeToString[resp.Rcode])
	}
	return nil
}

// exchange signs m, sends it and checks the answer's signature. A server
// that rejects the key answers NOTAUTH unsigned; that is reported as the
// rejection it is rather than as a bad signature.
func (p *Provider) exchange(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	m.SetTsig(p.keyName, p.alg, 300, time.Now().Unix())
	resp, _, err := p.client.ExchangeContext(ctx, m, p.server)
	if resp != nil && resp.Rcode == dns.RcodeNotAuth {
		reason := "NOTAUTH"
		if t := resp.IsTsig(); t != nil && t.Error != 0 {
			reason += " (" + dns.RcodeToString[int(t.Error)] + ")"
		}
		return nil, fmt.Errorf("%s refused TSIG key %s: %s", p.server, p.keyName, reason)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.server, err)
	}
	return resp, nil
}

// toDNS makes a wire record of r, whose name is relative to zone.
func toDNS(r libdns.RR, zone string) (dns.RR, error) {
	name := libdns.AbsoluteName(r.Name, zone)
	if r.Name == "" {
		return nil, errors.New("a record without a name")
	}
	if !dns.IsSubDomain(zone, dns.CanonicalName(name)) {
		return nil, fmt.Errorf("record %s is not in zone %s", name, zone)
	}
	ttl := uint32(r.TTL / time.Second)
	if strings.EqualFold(r.Type, "TXT") {
		// libdns holds the text unquoted, as one string; on the wire it is
		// strings of at most 255 bytes.
		txt := &dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}}
		for _, s := range split(r.Data, 255) {
			txt.Txt = append(txt.Txt, escape(s))
		}
		return txt, nil
	}
	rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, ttl, r.Type, r.Data))
	if err != nil {
		return nil, fmt.Errorf("record %s %s %q: %w", name, r.Type, r.Data, err)
	}
	if rr == nil {
		return nil, fmt.Errorf("record %s %s has no data", name, r.Type)
	}
	return rr, nil
}

// fromDNS is the libdns form of rr, named relative to zone.
func fromDNS(rr dns.RR, zone string) libdns.RR {
	h := rr.Header()
	out := libdns.RR{
		Name: libdns.RelativeName(dns.CanonicalName(h.Name), zone),
		TTL:  time.Duration(h.Ttl) * time.Second,
		Type: dns.TypeToString[h.Rrtype],
	}
	if txt, ok := rr.(*dns.TXT); ok {
		var b strings.Builder
		for _, s := range txt.Txt {
			b.WriteString(unescape(s))
		}
		out.Data = b.String()
	} else {
		out.Data = strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	}
	return out
}

// typed returns recs as libdns's typed records, as providers should.
func typed(recs []libdns.Record) ([]libdns.Record, error) {
	out := make([]libdns.Record, 0, len(recs))
	for _, r := range recs {
		rec, err := r.RR().Parse()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// split cuts s into pieces of at most n bytes.
func split(s string, n int) []string {
	out := []string{}
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// escape puts raw text in the presentation form package dns keeps TXT
// strings in: quotes and backslashes escaped, unprintable bytes as \DDD.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescape undoes escape.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			b.WriteByte((s[i+1]-'0')*100 + (s[i+2]-'0')*10 + (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

var (
	_ libdns.RecordAppender = (*Provider)(nil)
	_ libdns.RecordDeleter  = (*Provider)(nil)
)
