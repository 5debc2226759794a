package daemon

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// Credentials is the access key pair that signs API requests.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Secret implements api.Keys.
func (c Credentials) Secret(id string) (string, bool) {
	if id == c.AccessKeyID {
		return c.SecretAccessKey, true
	}
	return "", false
}

// CredentialsPath is DIR/credentials, in the AWS shared-credentials format.
func CredentialsPath(dataDir string) string { return filepath.Join(dataDir, "credentials") }

// loadOrCreateCredentials reads DIR/credentials, creating a new key pair on
// first start.
func loadOrCreateCredentials(dataDir string) (Credentials, error) {
	c, err := ReadCredentials(dataDir)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	c = Credentials{
		AccessKeyID:     "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		SecretAccessKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
	}
	content := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", c.AccessKeyID, c.SecretAccessKey)
	return c, writeFileAtomic(CredentialsPath(dataDir), []byte(content), 0o600)
}

// ReadCredentials reads the [default] profile of DIR/credentials.
func ReadCredentials(dataDir string) (Credentials, error) {
	f, err := os.Open(CredentialsPath(dataDir))
	if err != nil {
		return Credentials{}, err
	}
	defer f.Close()
	var c Credentials
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "default" {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			c.AccessKeyID = strings.TrimSpace(v)
		case "aws_secret_access_key":
			c.SecretAccessKey = strings.TrimSpace(v)
		}
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return c, fmt.Errorf("%s has no [default] access key pair", CredentialsPath(dataDir))
	}
	return c, sc.Err()
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// writeFileAtomic writes via a temporary file and a rename, so a crash
// never leaves a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WebhookSecretPath is DIR/webhook-secret: the HMAC key of push webhooks.
func WebhookSecretPath(dataDir string) string { return filepath.Join(dataDir, "webhook-secret") }

// loadOrCreateWebhookSecret reads DIR/webhook-secret (one line), creating
// it on first start.
func loadOrCreateWebhookSecret(dataDir string) ([]byte, error) {
	b, err := os.ReadFile(WebhookSecretPath(dataDir))
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	secret := randomString(40, "abcdefghijklmnopqrstuvwxyz0123456789")
	return []byte(secret), writeFileAtomic(WebhookSecretPath(dataDir), []byte(secret+"\n"), 0o600)
}

// Endpoint is what a running daemon tells local tools about itself, in
// DIR/server.json.
type Endpoint struct {
	API    string `json:"api"`    // http://host:port of the API listener
	Router string `json:"router"` // host:port of the router
	// HTTPS is host:port of the router's HTTPS listener, if any.
	HTTPS  string `json:"https,omitempty"`
	Region string `json:"region"`
	Domain string `json:"domain"`
}

// EndpointPath is DIR/server.json.
func EndpointPath(dataDir string) string { return filepath.Join(dataDir, "server.json") }

// ReadEndpoint reads DIR/server.json.
func ReadEndpoint(dataDir string) (Endpoint, error) {
	var ep Endpoint
	b, err := os.ReadFile(EndpointPath(dataDir))
	if err != nil {
		return ep, err
	}
	return ep, json.Unmarshal(b, &ep)
}
